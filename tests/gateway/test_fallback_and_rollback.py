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
def async_gateway(
    private_database_url: str,
) -> Iterator[Callable[..., tuple[GatewayServer, httpx.Client]]]:
    started: list[tuple[GatewayServer, httpx.Client]] = []

    def start(
        changes: dict[str, dict[str, Any]], **kwargs: Any
    ) -> tuple[GatewayServer, httpx.Client]:
        server = GatewayServer(
            make_settings(private_database_url, manifest_poll_seconds=0.2),
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
    async_gateway, private_database_url: str
) -> None:
    rules = RollbackRules(error_rate=0.5, min_requests=6, window_seconds=60)
    changes = {"news.latest_news": {"status": "async", "rollback": rules}}
    _, client = async_gateway(changes, wrap_async=misbehaving("error", paths={LATEST}))
    _, other_worker = async_gateway(changes, wrap_async=misbehaving("error", paths={LATEST}))

    # Six users meet the failure (one client alone could never move a route).
    statuses = [client.get(LATEST, params={"user_id": user}).status_code for user in range(6)]
    assert statuses == [500] * 6
    after = client.get(LATEST)
    assert after.status_code == 200 and after.headers["x-served-by"] == "legacy"

    status = client.get("/_gateway/status").json()
    [rollback] = status["rollbacks"]
    assert rollback["route_id"] == "news.latest_news"
    assert "error rate 100% (6 of 6 requests from 6 clients" in rollback["reason"]
    route = next(r for r in status["routes"] if r["id"] == "news.latest_news")
    assert route["status"] == "async" and route["effective_status"] == "legacy"
    assert "⟲ rolled back" in client.get("/_gateway/").text

    # The other worker hears of it through the database within a few seconds.
    deadline = time.monotonic() + 10
    while other_worker.get(LATEST).headers["x-served-by"] != "legacy":
        assert time.monotonic() < deadline, "the rollback did not reach the other worker"
        time.sleep(0.2)

    env = {**os.environ, "DATABASE_URL": private_database_url}
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


def _rolled_back(client: httpx.Client) -> list[str]:
    return [r["route_id"] for r in client.get("/_gateway/status").json()["rollbacks"]]


def test_designed_errors_never_roll_a_route_back(async_gateway, private_database_url: str) -> None:
    """100 anonymous requests answered 503 "not configured" (admin), 401 and 400 from many
    clients: designed answers fail both halves alike and say nothing about the new code."""
    rules = RollbackRules(error_rate=0.1, min_requests=5, min_clients=1, window_seconds=60)
    changes = {
        "admin.stats": {"status": "async", "rollback": rules},
        "api.get_subscriptions": {"status": "async", "rollback": rules},
    }
    server = GatewayServer(
        make_settings(private_database_url, admin_token=None, manifest_poll_seconds=0.2),
        manifest=manifest_with(changes),
    ).start()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            for user in range(100):
                response = client.get("/admin/api/stats", params={"user_id": user})
                assert response.status_code == 503
                assert response.json()["error"]["code"] == "unavailable"
            for user in range(30):
                bad = client.get("/api/subscriptions", params={"user_id": f"x{user}"})
                assert bad.status_code == 400
            assert not {"admin.stats", "api.get_subscriptions"} & set(_rolled_back(client))
            assert client.get("/admin/api/stats").headers["x-served-by"] == "async"
    finally:
        server.stop()


def test_a_canary_failing_where_legacy_does_not_is_rolled_back(async_gateway) -> None:
    """On a canary the async half is judged against legacy's rate on the same route: here
    Flask never fails and FastAPI always does."""
    rules = RollbackRules(error_rate=0.25, min_requests=4, min_clients=2, window_seconds=60)
    _, client = async_gateway(
        {"news.latest_news": {"status": "canary", "percent": 50, "rollback": rules}},
        wrap_async=misbehaving("error", paths={LATEST}),
    )
    served = {"async": 0, "legacy": 0}
    for user in range(40):
        response = client.get(LATEST, params={"user_id": user})
        served[response.headers["x-served-by"]] += 1
        if "news.latest_news" in _rolled_back(client):
            break
    assert "news.latest_news" in _rolled_back(client)
    assert served["async"] >= 4 and served["legacy"] >= 1


def test_a_raising_handler_is_rolled_back_even_when_the_database_is_down_at_that_moment(
    async_gateway, private_database_url: str
) -> None:
    """The verdict holds in the worker at once and reaches the database (and every other
    worker) as soon as the database answers again."""
    rules = RollbackRules(error_rate=0.5, min_requests=4, min_clients=2, window_seconds=60)
    changes = {"news.latest_news": {"status": "async", "rollback": rules}}
    server, client = async_gateway(changes, wrap_async=misbehaving("raise", paths={LATEST}))
    _, other_worker = async_gateway(changes)
    gateway = server.gateway
    from gateway import store

    real_record = store.record_rollback
    failures = {"left": 3}

    async def flaky_record(db, **kwargs):  # the database refuses the first attempts
        if failures["left"]:
            failures["left"] -= 1
            raise ConnectionRefusedError("the database is restarting")
        await real_record(db, **kwargs)

    store.record_rollback = flaky_record
    try:
        statuses = [client.get(LATEST, params={"user_id": u}).status_code for u in range(4)]
        assert statuses == [500] * 4
        assert client.get(LATEST).headers["x-served-by"] == "legacy"  # held here at once
        assert gateway.unsaved_rollbacks  # not in the database yet
        deadline = time.monotonic() + 10
        while other_worker.get(LATEST).headers["x-served-by"] != "legacy":
            assert time.monotonic() < deadline, "the rollback never reached the database"
            time.sleep(0.2)
        assert not gateway.unsaved_rollbacks
        assert failures["left"] == 0
    finally:
        store.record_rollback = real_record
