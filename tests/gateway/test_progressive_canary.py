"""A progressive canary advances step by step while its gates hold, is promoted to async
after the last step, and goes back to legacy at the first failed gate; every decision is
recorded with its figures (in the database, on SQLite and PostgreSQL alike)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from gateway.manifest import CanaryRules, RollbackRules
from tests.conftest import make_settings
from tests.support.gateway_server import GatewayServer
from tests.support.manifests import manifest_with
from tests.support.misbehaving import misbehaving

LATEST = "/api/news/latest"
ROUTE = "news.latest_news"
# Short steps for the test; generous latency ratio: this shared machine's timing is noisy.
RULES = CanaryRules(steps=(20, 50), interval_seconds=0.5, min_requests=5, max_p95_ratio=5)


@pytest.fixture
def canary_gateway(
    database_url: str,
) -> Iterator[Callable[..., tuple[GatewayServer, httpx.Client]]]:
    started: list[tuple[GatewayServer, httpx.Client]] = []

    def start(**kwargs: Any) -> tuple[GatewayServer, httpx.Client]:
        changes = {
            ROUTE: {
                "status": "canary",
                "percent": RULES.steps[0],
                "canary": RULES,
                "rollback": RollbackRules(enabled=False),  # the canary's own gate decides
                "fingerprint": uuid.uuid4().hex[:12],  # a run of its own in the shared database
            }
        }
        settings = make_settings(database_url, manifest_poll_seconds=0.2)
        server = GatewayServer(settings, manifest=manifest_with(changes), **kwargs)
        # Judged here: the canary's decisions. A cold first call on a loaded shared machine can
        # hold the loop past 100 ms; tests/gateway/test_loop_lag.py owns that guard.
        server.fail_on_loop_blocks = False
        server.start()
        client = httpx.Client(base_url=server.url, timeout=30)
        started.append((server, client))
        return server, client

    yield start
    for server, client in started:
        client.close()
        server.stop()


def drive(client: httpx.Client, until: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """Requests from many users (the canary's split is per user) until the route's state
    satisfies `until`; returns that route's status."""
    deadline = time.monotonic() + 60
    user = 0
    while True:
        for _ in range(20):
            user += 1
            client.get(LATEST, params={"limit": 1, "user_id": user})
        route = next(r for r in client.get("/_gateway/status").json()["routes"] if r["id"] == ROUTE)
        if until(route):
            return route
        assert time.monotonic() < deadline, f"canary stuck: {route['canary']}"


def sides_for_users(client: httpx.Client, users: range) -> set[str]:
    return {
        client.get(LATEST, params={"limit": 1, "user_id": user}).headers["x-served-by"]
        for user in users
    }


def decisions(client: httpx.Client) -> list[dict[str, Any]]:
    """This run's decisions, oldest first (the session's database holds earlier runs too)."""
    rows = client.get("/_gateway/status").json()["decisions"]
    mine = [row for row in reversed(rows) if row["route_id"] == ROUTE]
    starts = [i for i, row in enumerate(mine) if row["kind"] == "canary_start"]
    return mine[starts[-1] :]


def test_a_canary_whose_gates_hold_is_promoted_through_every_step(canary_gateway) -> None:
    _, client = canary_gateway()
    assert sides_for_users(client, range(1000, 1060)) == {"legacy", "async"}  # 20% of users
    route = drive(client, lambda r: r["effective_status"] == "async")
    assert route["status"] == "canary" and route["canary"]["state"] == "promoted"
    assert sides_for_users(client, range(2000, 2030)) == {"async"}

    made = decisions(client)
    assert [(d["kind"], d["status"], d["percent"]) for d in made] == [
        ("canary_start", "canary", 20),
        ("canary_step", "canary", 50),
        ("canary_promote", "async", None),
    ]
    for decision, percent in zip(made[1:], RULES.steps, strict=True):
        figures = decision["figures"]
        assert figures["percent"] == percent
        assert figures["async"]["requests"] >= RULES.min_requests
        assert figures["async"]["failures"] == 0
        assert figures["legacy"]["requests"] > 0
        assert figures["gates"]["error_rate"]["ok"] is True
    assert "canary_promote" in client.get("/_gateway/").text


def test_a_canary_is_rolled_back_at_the_first_failed_gate(canary_gateway) -> None:
    _, client = canary_gateway(wrap_async=misbehaving("error", paths={LATEST}))
    route = drive(client, lambda r: r["effective_status"] == "legacy")
    assert route["canary"]["state"] == "rolled_back"
    assert route["canary"]["step"] == 1  # never went past the first step
    assert sides_for_users(client, range(3000, 3040)) == {"legacy"}

    made = decisions(client)
    assert [d["kind"] for d in made] == ["canary_start", "canary_rollback"]
    rollback = made[-1]
    assert rollback["status"] == "legacy"
    assert "async error rate" in rollback["reason"]
    figures = rollback["figures"]
    assert figures["async"]["failures"] == figures["async"]["requests"] >= RULES.min_requests
    assert figures["gates"]["error_rate"]["ok"] is False
