"""The gateway's control surfaces: locked in production, open in development, answering in
the catalogue's shape; every HTML page with its security headers; secrets never stored."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from gateway.manifest import ShadowRules
from tests.conftest import ANCHOR, make_settings
from tests.support.gateway_server import GatewayServer
from tests.support.manifests import manifest_with
from tests.support.misbehaving import misbehaving

CONTROL_PATHS = ("/_gateway/", "/_gateway/status", "/metrics", "/docs", "/redoc", "/openapi.json")
PRODUCTION_TOKEN = "a-production-admin-token-of-real-length-0123456789"


@pytest.fixture(scope="module")
def production(database_url: str) -> Iterator[GatewayServer]:
    settings = make_settings(
        database_url,
        environment="production",
        admin_token=PRODUCTION_TOKEN,
        telegram_bot_token=None,
    )
    with GatewayServer(settings) as server:
        yield server


@pytest.mark.parametrize("path", CONTROL_PATHS)
def test_production_refuses_anonymous_access_to_control_surfaces(
    production: GatewayServer, path: str
) -> None:
    with httpx.Client(base_url=production.url, timeout=30) as client:
        anonymous = client.get(path)
        assert anonymous.status_code == 401
        assert anonymous.json()["error"]["code"] == "unauthorized"
        assert anonymous.headers["www-authenticate"] == "Bearer"
        wrong = client.get(path, headers={"Authorization": "Bearer not-the-token"})
        assert wrong.status_code == 401
        allowed = client.get(path, headers={"Authorization": f"Bearer {PRODUCTION_TOKEN}"})
        assert allowed.status_code == 200
        # The API itself is not a control surface.
        assert client.get("/api/categories").status_code == 200


def test_development_leaves_control_surfaces_open(client: httpx.Client) -> None:
    for path in CONTROL_PATHS:
        assert client.get(path).status_code == 200, path


def test_unknown_gateway_paths_answer_in_the_catalogue_shape(client: httpx.Client) -> None:
    for method in ("GET", "POST", "DELETE"):
        response = client.request(method, "/_gateway/nothing/here")
        assert response.status_code == 404
        assert response.json() == {"error": {"code": "not_found", "message": "no such endpoint"}}


HTML_PAGES = (
    "/webapp/",
    "/webapp/news",
    "/webapp/events",
    "/webapp/digest",
    "/webapp/subscriptions",
    "/webapp/settings",
    "/admin/",
    "/_gateway/",
)


def test_every_html_page_carries_security_headers(client: httpx.Client) -> None:
    for path in HTML_PAGES:
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["content-type"].startswith("text/html"), path
        policy = response.headers["content-security-policy"]
        assert "default-src 'none'" in policy and "script-src 'sha256-" in policy, path
        assert response.headers["x-content-type-options"] == "nosniff", path
        if path.startswith("/webapp/"):  # Telegram's web client frames WebApps
            assert "frame-ancestors https://web.telegram.org" in policy, path
        else:
            assert response.headers["x-frame-options"] == "DENY", path
            assert "frame-ancestors 'none'" in policy, path


def test_stored_shadow_mismatches_never_keep_secrets(database_url: str) -> None:
    latest = "/api/news/latest"
    manifest = manifest_with(
        {"news.latest_news": {"status": "shadow", "shadow": ShadowRules(noise_sample_rate=0.0)}}
    )
    settings = make_settings(database_url, manifest_poll_seconds=0.2, redact_fields="nickname")
    with GatewayServer(
        settings, manifest=manifest, wrap_async=misbehaving("different", paths={latest})
    ) as server:
        server.reset_data(anchor=ANCHOR)
        with httpx.Client(base_url=server.url, timeout=30) as client:
            query = {"limit": 2, "token": "s3cr3t-query", "nickname": "hidden-name"}
            assert client.get(latest, params=query).status_code == 200
            deadline = time.monotonic() + 10
            while not (mismatches := client.get("/_gateway/status").json()["mismatches"]):
                assert time.monotonic() < deadline, "no mismatch was recorded"
                time.sleep(0.1)
            page = client.get("/_gateway/").text
    request = mismatches[0]["request"]
    assert "limit=2" in request and "token=%5Bredacted%5D" in request
    for secret in ("s3cr3t-query", "hidden-name"):
        assert secret not in request and secret not in page
