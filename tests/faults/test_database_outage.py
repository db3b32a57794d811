"""The database under faults, through the gateway: PostgreSQL stopped (fast, and as a
crash) and started again under reads and writes, an exhausted pool, a busy pool and a dead
database as health sees them.

What must hold: only 200/201/202 and 503 answers, every 503 in the catalogue's shape with
`Retry-After`; recovery without restarting the gateway; no write acknowledged and then lost.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from gateway.manifest import RollbackRules
from shared.database.engine import Database
from shared.settings import Settings
from tests.conftest import make_settings
from tests.support.gateway_server import GatewayServer
from tests.support.manifests import manifest_with
from tests.support.private_postgres import PrivatePostgres

HALVES = ("legacy", "async")
ACCEPTED_STATUSES = {200, 201, 202, 503}
HEALTH_UP = {"status": "ok", "database": "ok"}
HEALTH_DOWN = {"status": "degraded", "database": "down"}


@dataclass
class Answer:
    half: str
    request: str
    status: int | None  # None: the connection ended without a status line
    body: Any = None
    retry_after: str | None = None
    served_by: str | None = None
    transport_error: str = ""


def ask(half: str, http: httpx.Client, method: str, path: str, **kwargs: Any) -> Answer:
    request = f"{method} {path}"
    try:
        response = http.request(method, path, **kwargs)
    except httpx.TransportError as exc:
        return Answer(half, request, None, transport_error=repr(exc))
    try:
        body = response.json()
    except ValueError:
        body = response.text
    return Answer(
        half,
        request,
        response.status_code,
        body=body,
        retry_after=response.headers.get("retry-after"),
        served_by=response.headers.get("x-served-by"),
    )


def assert_only_success_or_unavailable(answers: list[Answer]) -> None:
    dropped = [a for a in answers if a.status is None]
    assert not dropped, f"{len(dropped)} requests got no status line, e.g. {dropped[:3]}"
    unexpected = [a for a in answers if a.status not in ACCEPTED_STATUSES]
    assert not unexpected, f"{len(unexpected)} answers neither 2xx nor 503: {unexpected[:3]}"
    for answer in answers:
        assert answer.served_by == answer.half, answer
        if answer.status == 503:
            assert isinstance(answer.body, dict), answer
            assert answer.body["error"]["code"] == "unavailable", answer
            assert answer.retry_after is not None and answer.retry_after.isdigit(), answer
            assert int(answer.retry_after) >= 1, answer


def wait_until(check: Callable[[], bool], *, within: float, what: str) -> float:
    """Seconds until `check()` held; fails the test after `within` seconds."""
    started = time.monotonic()
    while time.monotonic() - started < within:
        if check():
            return time.monotonic() - started
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {within} s")


def health_is(http: httpx.Client, status: int, body: dict[str, str]) -> bool:
    response = http.get("/api/health")
    return response.status_code == status and response.json() == body


@contextmanager
def gateways(settings: Settings) -> Iterator[dict[str, httpx.Client]]:
    """One gateway per half (every route on it), on the same database, started together.
    Every route's automatic rollback is on a hair trigger (5 answers from one client): an
    outage still must not move any of them, since it fails both halves alike."""
    trigger = RollbackRules(error_rate=0.1, min_requests=5, min_clients=1)
    manifest = manifest_with(
        {route_id: {"rollback": trigger} for route_id in manifest_with({}).entries}
    )
    # Built one after the other: building a Flask app compiles its URL rules with
    # ast.parse, which Python 3.11 cannot run in two threads at once (SystemError "AST
    # constructor recursion depth mismatch"); started together.
    built = [GatewayServer(settings, manifest=manifest, force_status=half) for half in HALVES]
    with ThreadPoolExecutor(len(HALVES)) as starter:
        servers = list(starter.map(GatewayServer.start, built))
    for server in servers:
        server.fail_on_loop_blocks = False  # the load's threads share this process's GIL
    clients = {
        half: httpx.Client(base_url=server.url, timeout=30)
        for half, server in zip(HALVES, servers, strict=True)
    }
    try:
        yield clients
    finally:
        for http in clients.values():
            http.close()
        for server in servers:
            server.stop()


class Load:
    """Writers and readers on every half until stopped; every answer is kept."""

    def __init__(self, clients: dict[str, httpx.Client], *, workers_per_half: int = 3) -> None:
        self.clients = clients
        self.answers: list[Answer] = []
        self.acknowledged: list[tuple[int, int]] = []  # (user id, telegram_id) answered 2xx
        self._telegram_ids = itertools.count(random.randrange(10**9, 2 * 10**9))
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._work, args=(half,), daemon=True)
            for half in clients
            for _ in range(workers_per_half)
        ]

    def write(self, half: str) -> Answer:
        telegram_id = next(self._telegram_ids)
        http = self.clients[half]
        answer = ask(half, http, "POST", "/api/users", json={"telegram_id": telegram_id})
        self.answers.append(answer)
        if answer.status in (200, 201):
            self.acknowledged.append((answer.body["user"]["id"], telegram_id))
        return answer

    def _work(self, half: str) -> None:
        http = self.clients[half]
        while not self._stop.is_set():
            self.write(half)
            self.answers.append(ask(half, http, "GET", "/api/news/latest"))
            self.answers.append(ask(half, http, "GET", "/api/users/1"))

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(60)


def read_back(clients: dict[str, httpx.Client], written: list[tuple[int, int]]) -> list[int]:
    """The telegram_ids of `written` users that a profile read does not find (either half)."""

    def missing(index_and_write: tuple[int, tuple[int, int]]) -> int | None:
        index, (user_id, telegram_id) = index_and_write
        response = clients[HALVES[index % 2]].get(f"/api/users/{user_id}")
        found = response.status_code == 200 and response.json()["user"]["telegram_id"]
        return None if found == telegram_id else telegram_id

    with ThreadPoolExecutor(8) as pool:
        return [tid for tid in pool.map(missing, enumerate(written)) if tid is not None]


def test_postgres_restarts_under_load_give_only_2xx_or_503_and_lose_no_write(
    private_postgres: PrivatePostgres,
) -> None:
    with gateways(make_settings(private_postgres.url)) as clients:
        with Load(clients) as load:
            try:
                for mode in ("fast", "immediate"):
                    time.sleep(0.8)  # load on a healthy database first
                    private_postgres.stop(mode)
                    for half, http in clients.items():
                        wait_until(
                            lambda http=http: health_is(http, 503, HEALTH_DOWN),
                            within=10,  # "a few seconds", on a loaded CI machine
                            what=f"{half}: health says down after `pg_ctl stop -m {mode}`",
                        )
                    time.sleep(0.5)
                    private_postgres.start()
                    for half, http in clients.items():  # the same gateway, never restarted
                        wait_until(
                            lambda half=half, http=http: (
                                health_is(http, 200, HEALTH_UP) and load.write(half).status == 201
                            ),
                            within=15,
                            what=f"{half}: recovery after `pg_ctl stop -m {mode}` and a start",
                        )
                time.sleep(0.5)
            finally:
                if not private_postgres.running():
                    private_postgres.start()

        assert_only_success_or_unavailable(load.answers)
        for half in HALVES:
            statuses = {a.status for a in load.answers if a.half == half}
            assert 503 in statuses, f"{half}: the outage was never seen"
            rollbacks = clients[half].get("/_gateway/status").json()["rollbacks"]
            assert rollbacks == [], f"{half}: the outage moved routes: {rollbacks}"
        assert len(load.acknowledged) > 20
        lost = read_back(clients, load.acknowledged)
        assert not lost, f"{len(lost)} of {len(load.acknowledged)} acknowledged writes lost"


def test_a_missing_table_is_still_a_500_not_hidden_as_an_outage(tmp_path: Path) -> None:
    never_migrated = make_settings(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
    with gateways(never_migrated) as clients:
        for half, http in clients.items():
            response = http.get("/api/sources")
            assert response.status_code == 500, half
            assert response.json()["error"]["code"] == "internal", half


def test_an_exhausted_pool_answers_503_with_retry_after_and_health_stays_up(
    start_gateway: Callable[..., tuple[GatewayServer, httpx.Client]], half: str
) -> None:
    server, http = start_gateway(
        db_pool_size=1, db_pool_timeout_seconds=0.1, db_simulated_latency_ms=300
    )
    server.fail_on_loop_blocks = False  # the crowd's threads share this process's GIL
    with ThreadPoolExecutor(25) as pool:
        crowd = [pool.submit(ask, half, http, "GET", "/api/sources") for _ in range(24)]
        time.sleep(0.1)
        health = pool.submit(http.get, "/api/health").result()
        answers = [future.result() for future in crowd]

    assert_only_success_or_unavailable(answers)
    assert {answer.status for answer in answers} == {200, 503}
    assert (health.status_code, health.json()) == (200, HEALTH_UP)


@contextmanager
def table_locked(url: str, table: str) -> Iterator[None]:
    """Another client holds an exclusive lock on `table`: queries on it wait inside
    PostgreSQL, each holding its pooled connection, until the block ends."""
    locked, release = threading.Event(), threading.Event()

    async def hold() -> None:
        db = Database(url)
        await db.connect()
        try:
            async with db.transaction() as tx:
                await tx.execute(sa.text(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE"))
                locked.set()
                await asyncio.to_thread(release.wait)
        finally:
            await db.close()

    holder = threading.Thread(target=asyncio.run, args=(hold(),), daemon=True)
    holder.start()
    assert locked.wait(10), "could not lock the table"
    try:
        yield
    finally:
        release.set()
        holder.join(10)


def test_a_busy_pool_is_up_but_a_dead_database_is_down_within_seconds(
    private_postgres: PrivatePostgres,
) -> None:
    # One pooled connection per gateway: of its two stuck requests, one waits for it.
    settings = make_settings(private_postgres.url, db_pool_size=1, db_pool_timeout_seconds=10)
    with gateways(settings) as clients:
        with ThreadPoolExecutor(4) as pool, table_locked(private_postgres.url, "sources"):
            stuck = [pool.submit(h.get, "/api/sources") for h in clients.values() for _ in "ab"]
            time.sleep(2.2)  # every connection is held longer than a success counts as fresh
            for half, http in clients.items():
                started = time.monotonic()
                assert health_is(http, 200, HEALTH_UP), half
                assert time.monotonic() - started < 1.5, half
        assert all(future.result().status_code == 200 for future in stuck)

        private_postgres.stop("fast")
        try:
            for half, http in clients.items():
                wait_until(
                    lambda http=http: health_is(http, 503, HEALTH_DOWN),
                    within=10,  # "a few seconds", on a loaded CI machine
                    what=f"{half}: health says down once PostgreSQL is stopped",
                )
        finally:
            private_postgres.start()
        for half, http in clients.items():
            wait_until(
                lambda http=http: health_is(http, 200, HEALTH_UP),
                within=10,
                what=f"{half}: health says up once PostgreSQL is back",
            )
