"""A blocking call in async code stalls every request of the worker: the loop-lag monitor
catches it, names the route and the code, and fails the test suite."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import ANCHOR, make_settings
from tests.support.gateway_server import GatewayServer
from tests.support.misbehaving import blocking

LATEST = "/api/news/latest"


def test_a_planted_time_sleep_is_caught_with_its_route_and_fails_the_suite(
    database_url: str,
) -> None:
    server = GatewayServer(
        make_settings(database_url),
        force_status="async",
        wrap_async=blocking(paths={LATEST}, seconds=0.3),
    ).start()
    try:
        server.reset_data(anchor=ANCHOR)
        with httpx.Client(base_url=server.url, timeout=30) as client:
            assert client.get("/api/categories").status_code == 200
            assert server.loop_blocks() == []  # ordinary requests never block
            assert client.get(LATEST).status_code == 200
            status = client.get("/_gateway/status").json()
            metrics = client.get("/metrics").text
            page = client.get("/_gateway/").text
    finally:
        with pytest.raises(AssertionError, match="blocked the gateway's event loop"):
            server.stop()
    [block] = [b for b in server.loop_blocks() if b.route_id == "news.latest_news"]
    assert block.route_id == "news.latest_news"
    assert block.where.startswith("tests/support/misbehaving.py:"), block.where
    assert "in app" in block.where
    assert 0.25 <= block.seconds <= 2
    assert block.waiting_in == "clock_nanosleep"  # a sleep, not a wait for the GIL
    [shown] = [b for b in status["runtime"]["loop"]["blocks"] if b["route_id"]]
    assert shown["route_id"] == "news.latest_news" and shown["ms"] >= 250
    assert 'gateway_loop_blocks_total{route="news.latest_news"} 1.0' in metrics
    assert "gateway_loop_lag_seconds_bucket" in metrics
    assert "Event loop blocked" in page


def test_a_computation_that_never_yields_is_caught_too(database_url: str) -> None:
    server = GatewayServer(
        make_settings(database_url),
        force_status="async",
        wrap_async=blocking(paths={LATEST}, seconds=0.3, spin=True),
    ).start()
    server.fail_on_loop_blocks = False
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            assert client.get(LATEST).status_code == 200
    finally:
        server.stop()
    [block] = [b for b in server.loop_blocks() if b.route_id == "news.latest_news"]
    assert block.cpu_seconds >= 0.25 and block.blocking
