"""Fallback to Flask on an async 5xx or timeout, and metric-driven automatic rollback."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from gateway.manifest import FallbackRules, RollbackRules
from tests.conftest import ANCHOR, ROOT, make_settings
from tests.support.gateway_server import GatewayServer
from tests.support.manifests import manifest_with
from tests.support.misbehaving import misbehaving

LATEST = "/api/news/latest"


@pytest.fixture
def async_gateway(database_url: str) -> Iterator[Callable[..., tuple[GatewayServer, httpx.Client]]]:
    started: list[tuple[GatewayServer, httpx.Client]] = []

    def start(
        changes: dict[str, dict[str, Any]], **kwargs: Any
    ) -> tuple[GatewayServer, httpx.Client]:
        server = GatewayServer(
            make_settings(database_url, manifest_poll_seconds=0.2),
            manifest=manifest_with(changes),
            **kwargs,
        ).start()
        server.reset_data(anchor=ANCHOR)
        client = httpx.Client(base_url=server.url, timeout=30)
        started.append((server, client))
        return server, client

    yield start
    for server, client in started:
        client.close()
        server.stop()


def test_async_5xx_on_an_idempotent_request_is_answered_by_flask(async_gateway) -> None:
    rules = FallbackRules(on_5xx=True)
    _, client = async_gateway(
        {
            "news.latest_news": {"status": "async", "fallback": rules},
            "api.update_subscription": {"status": "async", "fallback": rules},
        },
        wrap_async=misbehaving("error", paths={LATEST, "/api/subscriptions/update"}),
    )
    response = client.get(LATEST, params={"limit": 2})
    assert response.status_code == 200
    assert response.json()["count"] == 2
    assert response.headers["x-served-by"] == "legacy"
    assert response.headers["x-fallback"] == "async-5xx"
    # A POST is not idempotent: it is never replayed on the other half.
    write = client.post(
        "/api/subscriptions/update", json={"user_id": 1, "category": "tech", "action": "subscribe"}
    )
    assert write.status_code == 500 and write.headers["x-served-by"] == "async"
    metrics = client.get("/metrics").text
    assert 'gateway_fallbacks_total{reason="5xx",route="news.latest_news"} 1.0' in metrics


def test_async_answer_slower_than_the_fallback_timeout_is_answered_by_flask(async_gateway) -> None:
    _, client = async_gateway(
        {"news.latest_news": {"status": "async", "fallback": FallbackRules(timeout_ms=300)}},
        wrap_async=misbehaving("hang", paths={LATEST}),
    )
    started = time.monotonic()
    response = client.get(LATEST, params={"limit": 1})
    assert time.monotonic() - started < 3
    assert response.status_code == 200
    assert response.headers["x-fallback"] == "async-timeout"


def test_without_a_fallback_the_async_error_reaches_the_client(async_gateway) -> None:
    _, client = async_gateway(
        {"news.latest_news": {"status": "async", "rollback": RollbackRules(enabled=False)}},
        wrap_async=misbehaving("error", paths={LATEST}),
    )
    response = client.get(LATEST)
    assert response.status_code == 500 and response.headers["x-served-by"] == "async"


def test_error_rate_over_the_threshold_rolls_the_route_back_everywhere(
    async_gateway, database_url: str
) -> None:
    rules = RollbackRules(error_rate=0.5, min_requests=6, window_seconds=60)
    changes = {"news.latest_news": {"status": "async", "rollback": rules}}
    _, client = async_gateway(changes, wrap_async=misbehaving("error", paths={LATEST}))
    _, other_worker = async_gateway(changes, wrap_async=misbehaving("error", paths={LATEST}))

    statuses = [client.get(LATEST).status_code for _ in range(6)]
    assert statuses == [500] * 6
    after = client.get(LATEST)
    assert after.status_code == 200 and after.headers["x-served-by"] == "legacy"

    status = client.get("/_gateway/status").json()
    [rollback] = status["rollbacks"]
    assert rollback["route_id"] == "news.latest_news"
    assert "error rate 100% (6 of 6 requests" in rollback["reason"]
    route = next(r for r in status["routes"] if r["id"] == "news.latest_news")
    assert route["status"] == "async" and route["effective_status"] == "legacy"
    assert "was async" in client.get("/_gateway/").text

    # The other worker hears of it through the database within a few seconds.
    deadline = time.monotonic() + 10
    while other_worker.get(LATEST).headers["x-served-by"] != "legacy":
        assert time.monotonic() < deadline, "the rollback did not reach the other worker"
        time.sleep(0.2)

    env = {**os.environ, "DATABASE_URL": database_url}
    routes = subprocess.run(
        [sys.executable, "-m", "gateway", "routes"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    line = next(row for row in routes.stdout.splitlines() if " news.latest_news " in row)
    assert "rolled back to legacy" in line
    assert "news.latest_news rolled back at" in routes.stdout

    cleared = subprocess.run(
        [sys.executable, "-m", "gateway", "clear-rollback", "news.latest_news"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "cleared" in cleared.stdout
    deadline = time.monotonic() + 10
    while client.get(LATEST).headers["x-served-by"] != "async":
        assert time.monotonic() < deadline, "clearing the rollback did not take effect"
        time.sleep(0.2)
