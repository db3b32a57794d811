"""Direct reads keep their pooled connection between reads (a list pop instead of the
pool's checkout) and hand it back to anyone else who needs the pool: with a pool of one,
neither a write nor a crowd of reads waits for a connection that sits idle."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.support.gateway_server import GatewayServer

StartGateway = Callable[..., tuple[GatewayServer, httpx.Client]]
SUBSCRIBE = {"user_id": 1, "category": "tech", "action": "subscribe"}


def test_a_kept_connection_is_idle_and_a_write_gets_it(start_gateway: StartGateway) -> None:
    _, http = start_gateway(db_pool_size=1, db_pool_timeout_seconds=2)
    for _ in range(3):
        assert http.get("/api/news/latest").status_code == 200
    pool = http.get("/api/metrics/db").json()["pool"]
    assert (pool["open"], pool["checked_in"], pool["checked_out"]) == (1, 1, 0)

    started = time.monotonic()
    answer = http.post("/api/subscriptions/update", json=SUBSCRIBE)
    assert answer.status_code == 200, answer.text  # not a 503 after the pool's timeout
    assert time.monotonic() - started < 2
    assert answer.json()["subscribed"] is True


def test_reads_and_writes_at_once_share_one_connection(start_gateway: StartGateway) -> None:
    _, http = start_gateway(db_pool_size=1, db_pool_timeout_seconds=2)
    reads = ["/api/news/latest", "/api/news", "/api/events/", "/api/subscriptions?user_id=1"]

    def read(path: str) -> int:
        return http.get(path).status_code

    def write(_: int) -> int:
        return http.post("/api/subscriptions/update", json=SUBSCRIBE).status_code

    with ThreadPoolExecutor(12) as crowd:
        read_statuses = crowd.map(read, reads * 6)
        write_statuses = crowd.map(write, range(6))
        assert set(read_statuses) == {200}
        assert set(write_statuses) == {200}
    assert settled_pool(http) == (1, 0)


def settled_pool(http: httpx.Client) -> tuple[int, int]:
    """(open, checked out) once the gateway's own writes (its statistics, every few
    seconds, slowed by the same simulated latency) have given their connection back."""
    deadline = time.monotonic() + 10
    while True:
        pool = http.get("/api/metrics/db").json()["pool"]
        if pool["checked_out"] == 0 or time.monotonic() > deadline:
            return pool["open"], pool["checked_out"]
        time.sleep(0.05)


def test_reads_waiting_for_a_busy_pool_are_handed_connections_in_turn(
    start_gateway: StartGateway,
) -> None:
    """With every connection held by a read (the simulated latency holds it), the next
    reads wait for a read to finish and take its connection over: all answered, at most
    one connection opened."""
    _, http = start_gateway(db_pool_size=1, db_pool_timeout_seconds=10, db_simulated_latency_ms=20)
    with ThreadPoolExecutor(16) as crowd:
        statuses = list(crowd.map(lambda _: http.get("/api/news/latest").status_code, range(48)))
    assert statuses == [200] * 48
    assert settled_pool(http) == (1, 0)


def test_reads_that_give_up_waiting_answer_503_and_leave_the_pool_whole(
    start_gateway: StartGateway,
) -> None:
    _, http = start_gateway(
        db_pool_size=1, db_pool_timeout_seconds=0.2, db_simulated_latency_ms=150
    )
    with ThreadPoolExecutor(16) as crowd:
        answers = list(crowd.map(lambda _: http.get("/api/news/latest"), range(32)))
    assert {answer.status_code for answer in answers} == {200, 503}
    busy = next(answer for answer in answers if answer.status_code == 503)
    assert busy.json()["error"]["code"] == "unavailable"
    assert busy.headers["retry-after"]
    # Nothing lost to the reads that gave up: the one connection still serves.
    assert http.get("/api/news/latest").status_code == 200
    assert settled_pool(http) == (1, 0)
