"""What the gateway shows: Prometheus metrics, /_gateway/status, and the dashboard page
as a person sees it in a real browser (Debian's headless Chromium)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from html.parser import HTMLParser

import httpx
import pytest

from gateway.manifest import ShadowRules
from tests.conftest import ANCHOR, IN_CI, make_settings
from tests.support.gateway_server import GatewayServer
from tests.support.manifests import manifest_with
from tests.support.misbehaving import misbehaving

LATEST = "/api/news/latest"


def test_prometheus_metrics_cover_requests_shadow_bridge_and_pool(database_url: str) -> None:
    manifest = manifest_with(
        {
            "news.latest_news": {"status": "async"},
            "api.get_categories": {
                "status": "shadow",
                "shadow": ShadowRules(noise_sample_rate=0.0),
            },
            "api.get_subscriptions": {"status": "legacy"},
        }
    )
    with GatewayServer(make_settings(database_url), manifest=manifest) as server:
        server.reset_data(anchor=ANCHOR)
        with httpx.Client(base_url=server.url) as client:
            client.get(LATEST)
            client.get("/api/categories")
            client.get("/api/subscriptions", params={"user_id": 1})
            time.sleep(0.5)  # the shadow comparison runs after the answer
            response = client.get("/metrics")
            status = client.get("/_gateway/status").json()
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert 'gateway_requests_total{code="200",route="news.latest_news",side="async"} 1.0' in text
    assert 'gateway_requests_total{code="200",route="api.get_categories",side="legacy"} 1.0' in text
    assert (
        'gateway_request_duration_seconds_count{route="news.latest_news",side="async"} 1.0' in text
    )
    assert 'gateway_shadow_comparisons_total{route="api.get_categories"} 1.0' in text
    assert "gateway_bridge_wait_seconds_count" in text
    bridge_count = next(
        line for line in text.splitlines() if line.startswith("gateway_bridge_wait_seconds_count")
    )
    assert float(bridge_count.split()[-1]) >= 2  # the legacy views' DB calls
    assert "gateway_db_pool_in_use " in text
    assert "gateway_manifest_info{version=" in text
    # The dashboard's traffic figures are these (in-process gateways: this process's own).
    routes = {route["id"]: route for route in status["routes"]}
    assert routes["news.latest_news"]["sides"]["async"]["requests"] == 1
    assert routes["api.get_categories"]["sides"]["legacy"]["requests"] == 1
    assert status["traffic"] == {"scope": "process", "workers": [os.getpid()]}


class _Text(HTMLParser):
    """The visible text of a DOM, with the ids of the elements it saw."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.ids: set[str] = set()
        self.rows: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name == "id" and value:
                self.ids.add(value)
            if name == "data-route" and value:
                self.rows.append(value)

    def handle_data(self, data: str) -> None:
        if data.strip():
            self.text.append(data.strip())


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if IN_CI:
        pytest.fail("Chromium is required under CI=true (Debian package `chromium`)")
    pytest.skip("Chromium is not installed (apt-get install chromium)")


def _browse(url: str, *, screenshot: str | None = None) -> str:
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as profile:
        command = [
            _chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            "--window-size=1400,1800",
            "--virtual-time-budget=2000",
        ]
        if screenshot:
            command += [f"--screenshot={screenshot}"]
        else:
            command += ["--dump-dom"]
        result = subprocess.run(
            [*command, url], capture_output=True, text=True, timeout=120, check=True
        )
        return result.stdout


def test_dashboard_in_a_browser_shows_progress_parity_latency_mismatches_and_rollbacks(
    database_url: str,
) -> None:
    manifest = manifest_with(
        {
            "news.latest_news": {
                "status": "shadow",
                "shadow": ShadowRules(noise_sample_rate=0.0),
            },
            "api.get_categories": {"status": "async"},
        }
    )
    wrap = misbehaving("different", paths={LATEST})
    with GatewayServer(make_settings(database_url), manifest=manifest, wrap_async=wrap) as server:
        server.reset_data(anchor=ANCHOR)
        with httpx.Client(base_url=server.url) as client:
            client.get(LATEST, params={"limit": 3})
            for _ in range(3):
                client.get("/api/categories")
            deadline = time.monotonic() + 10
            while not client.get("/_gateway/status").json()["mismatches"]:
                assert time.monotonic() < deadline
                time.sleep(0.1)
            status = client.get("/_gateway/status").json()
        dom = _browse(server.url + "/_gateway/")
        screenshot = os.environ.get("DASHBOARD_SCREENSHOT")
        if screenshot:  # `DASHBOARD_SCREENSHOT=docs/dashboard.png pytest -k dashboard`
            _browse(server.url + "/_gateway/", screenshot=screenshot)
    page = _Text()
    page.feed(dom)
    text = " ".join(page.text)
    assert {"routes", "mismatches", "by-file", "migrated-percent"} <= page.ids
    assert len(page.rows) == len(status["routes"])
    assert f"{status['progress']['migrated_percent']}%" in text
    assert "legacy_flask/routes/api_routes.py" in text
    assert "GET /api/news/latest?limit=3" in text
    assert "count" in text and "legacy 3" in text and "async 0" in text  # the diff, readably
    categories = next(r for r in status["routes"] if r["id"] == "api.get_categories")
    assert categories["sides"]["async"]["requests"] == 3
    assert categories["sides"]["async"]["p50_ms"] is not None
    assert (
        f"{categories['sides']['async']['p50_ms']} / {categories['sides']['async']['p95_ms']}"
        in text
    )
