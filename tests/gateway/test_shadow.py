"""Shadow mode: Flask answers, FastAPI is replayed off the critical path and compared."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from gateway.manifest import ShadowRules
from tests.conftest import ANCHOR, ROOT, make_settings
from tests.support.gateway_server import GatewayServer
from tests.support.manifests import manifest_with
from tests.support.misbehaving import misbehaving

LATEST = "/api/news/latest"


@pytest.fixture
def shadow_gateway(
    database_url: str,
) -> Iterator[Callable[..., tuple[GatewayServer, httpx.Client]]]:
    started: list[tuple[GatewayServer, httpx.Client]] = []

    def start(
        *, wrap_async: Any = None, route: str = "news.latest_news", **rules: Any
    ) -> tuple[GatewayServer, httpx.Client]:
        shadow = ShadowRules(**{"noise_sample_rate": 0.0, "timeout_ms": 10000, **rules})
        manifest = manifest_with({route: {"status": "shadow", "shadow": shadow}})
        server = GatewayServer(
            make_settings(database_url, manifest_poll_seconds=0.2),
            manifest=manifest,
            wrap_async=wrap_async,
        ).start()
        server.reset_data(anchor=ANCHOR)
        client = httpx.Client(base_url=server.url, timeout=30)
        started.append((server, client))
        return server, client

    yield start
    for server, client in started:
        client.close()
        server.stop()


def route_status(client: httpx.Client, route_id: str) -> dict[str, Any]:
    status = client.get("/_gateway/status").json()
    return next(route for route in status["routes"] if route["id"] == route_id)


def wait_for(check: Callable[[], Any], seconds: float = 10) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def test_identical_halves_count_comparisons_at_full_parity(shadow_gateway) -> None:
    _, client = shadow_gateway()
    for limit in (1, 2, 3, 4, 5):
        response = client.get(LATEST, params={"limit": limit})
        assert response.headers["x-served-by"] == "legacy"
    route = wait_for(
        lambda: (r := route_status(client, "news.latest_news"))["parity"]["comparisons"] >= 5 and r
    )
    assert route["parity"]["mismatches"] == 0
    assert route["parity"]["rate"] == 1.0


def test_a_mismatch_is_kept_with_a_readable_diff_and_its_request(
    shadow_gateway, database_url: str
) -> None:
    server, client = shadow_gateway(wrap_async=misbehaving("different", paths={LATEST}))
    primary = client.get(LATEST, params={"limit": 2, "category": "tech"})
    assert primary.status_code == 200 and primary.json()["count"] == 2  # Flask's answer
    mismatch = wait_for(lambda: client.get("/_gateway/status").json()["mismatches"])[0]
    assert mismatch["route_id"] == "news.latest_news"
    assert mismatch["kind"] == "mismatch"
    assert mismatch["request"] == "GET /api/news/latest?limit=2&category=tech"
    by_path = {d["path"]: d for d in mismatch["differences"]}
    assert by_path["count"] == {"path": "count", "legacy": 2, "async": 0}
    assert by_path["news.length"]["legacy"] == 2
    assert route_status(client, "news.latest_news")["parity"]["rate"] == 0.0
    page = client.get("/_gateway/").text
    assert "news.length" in page and "GET /api/news/latest?limit=2&amp;category=tech" in page

    # The report an engineer runs reads what every worker wrote to the database.
    def report() -> str:
        return subprocess.run(
            [sys.executable, "-m", "gateway", "shadow-report", "--route", "news.latest_news"],
            cwd=ROOT,
            env={**os.environ, "DATABASE_URL": database_url},
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout

    text = wait_for(lambda: (out := report()) and "GET /api/news/latest" in out and out)
    assert "news.latest_news" in text and "0.0%" in text
    assert "count: legacy 2 ≠ async 0" in text


def test_shadow_failure_never_changes_primary_response(shadow_gateway) -> None:
    _, client = shadow_gateway(wrap_async=misbehaving("raise", paths={LATEST}))
    _, reference = shadow_gateway(route="api.get_categories")  # news.latest_news on legacy
    expected = reference.get(LATEST, params={"limit": 3})
    for _ in range(3):
        response = client.get(LATEST, params={"limit": 3})
        assert response.status_code == 200
        assert response.content == expected.content
    route = wait_for(
        lambda: (r := route_status(client, "news.latest_news"))["parity"]["errors"] >= 3 and r
    )
    assert route["parity"]["rate"] == 0.0


@pytest.mark.parametrize("mode", ["hang", "slow"])
def test_shadow_slowness_never_delays_primary_response(shadow_gateway, mode: str) -> None:
    _, client = shadow_gateway(
        wrap_async=misbehaving(mode, paths={LATEST}, delay=0.8), timeout_ms=3000
    )
    client.get(LATEST)  # warm up
    started = time.monotonic()
    responses = [client.get(LATEST, params={"limit": 2}) for _ in range(3)]
    elapsed = time.monotonic() - started
    assert all(r.status_code == 200 for r in responses)
    # Three primaries in a row while each shadow takes 0.8 s (slow) or forever (hang):
    # had any primary waited for its shadow, this would exceed 2.4 s.
    assert elapsed < 1.5, elapsed
    if mode == "hang":  # the shadow's own timeout ends it and records an error
        wait_for(lambda: route_status(client, "news.latest_news")["parity"]["errors"] >= 1)
    else:  # the slow shadow still completes its comparison afterwards
        wait_for(lambda: route_status(client, "news.latest_news")["parity"]["comparisons"] >= 3)


def test_writes_are_not_shadowed_unless_allowed(shadow_gateway) -> None:
    _, client = shadow_gateway(route="api.generate_digest")
    response = client.post("/api/digest/generate", json={"limit": 2})
    assert response.status_code == 200
    time.sleep(1)
    assert route_status(client, "api.generate_digest")["parity"]["comparisons"] == 0


def test_shadowed_writes_run_in_a_rolled_back_transaction(shadow_gateway) -> None:
    _, client = shadow_gateway(route="api.generate_digest", allow_writes=True)
    _, reader = shadow_gateway(route="api.get_categories")
    history_before = reader.get("/api/dashboard/digests").json()
    first = client.post("/api/digest/generate", json={"limit": 2}).json()["digest"]
    wait_for(lambda: route_status(client, "api.generate_digest")["parity"]["comparisons"] >= 1)
    second = client.post("/api/digest/generate", json={"limit": 2}).json()["digest"]
    wait_for(lambda: route_status(client, "api.generate_digest")["parity"]["comparisons"] >= 2)
    # Flask wrote each digest once; the shadow's writes were rolled back.
    stored = [reader.get(f"/api/digest/{d['id']}").status_code for d in (first, second)]
    assert stored == [200, 200]
    after = reader.get("/api/dashboard/digests").json()
    assert after["total"] == history_before["total"] + 2


def test_the_cap_skips_shadow_calls_instead_of_queueing_them(shadow_gateway) -> None:
    server, client = shadow_gateway(
        wrap_async=misbehaving("slow", paths={LATEST}, delay=2.0), timeout_ms=5000
    )
    server.gateway.shadow.max_concurrency = 1
    for _ in range(4):
        assert client.get(LATEST).status_code == 200
    wait_for(lambda: route_status(client, "news.latest_news")["parity"]["skipped"] >= 3)
