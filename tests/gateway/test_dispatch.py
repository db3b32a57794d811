"""The manifest decides which half answers; the frontend sees the same body either way."""

from __future__ import annotations

from dataclasses import replace

import httpx

from gateway.manifest import Manifest, load_manifest
from tests.conftest import ANCHOR, ROOT, make_settings
from tests.support.gateway_server import GatewayServer


def manifest_with(**statuses: str | tuple[str, int]) -> Manifest:
    manifest = load_manifest(ROOT / "migration_status.yaml")
    entries = dict(manifest.entries)
    for route_id, status in statuses.items():
        name = route_id.replace("__", ".")
        if isinstance(status, tuple):
            entries[name] = replace(entries[name], status=status[0], percent=status[1])
        else:
            entries[name] = replace(entries[name], status=status)
    return replace(manifest, entries=entries)


def test_flipping_a_route_changes_served_by_and_not_the_body(database_url: str) -> None:
    answers = {}
    for status in ("legacy", "async"):
        manifest = manifest_with(news__latest_news=status, api__get_categories=status)
        with GatewayServer(make_settings(database_url), manifest=manifest) as server:
            server.reset_data(anchor=ANCHOR)
            with httpx.Client(base_url=server.url) as http:
                answers[status] = [
                    http.get("/api/news/latest", params={"category": "tech", "limit": 4}),
                    http.get("/api/categories"),
                ]
    for legacy, modern in zip(answers["legacy"], answers["async"], strict=True):
        assert legacy.headers["x-served-by"] == "legacy"
        assert modern.headers["x-served-by"] == "async"
        assert legacy.headers["x-route-id"] == modern.headers["x-route-id"]
        assert legacy.headers["content-type"] == modern.headers["content-type"]
        assert legacy.content == modern.content  # byte for byte


def test_unlisted_paths_fall_through_to_flask(database_url: str) -> None:
    with GatewayServer(make_settings(database_url), force_status="async") as server:
        with httpx.Client(base_url=server.url) as http:
            response = http.get("/not/in/the/manifest")
    assert response.status_code == 404
    assert response.headers["x-served-by"] == "legacy"
    assert "x-route-id" not in response.headers


def test_canary_is_sticky_per_user_and_splits_users(database_url: str) -> None:
    manifest = manifest_with(news__latest_news=("canary", 50))
    with GatewayServer(make_settings(database_url), manifest=manifest) as server:
        server.reset_data(anchor=ANCHOR)
        with httpx.Client(base_url=server.url) as http:
            sides = {}
            for user_id in range(1, 41):
                seen = {
                    http.get("/api/news/latest", params={"user_id": user_id, "limit": 1}).headers[
                        "x-served-by"
                    ]
                    for _ in range(3)
                }
                assert len(seen) == 1, f"user {user_id} flipped between halves: {seen}"
                sides[user_id] = seen.pop()
    assert set(sides.values()) == {"legacy", "async"}
    share = sum(side == "async" for side in sides.values()) / len(sides)
    assert 0.2 < share < 0.8


def test_gateway_status_reports_the_live_manifest(database_url: str) -> None:
    with GatewayServer(make_settings(database_url)) as server:
        with httpx.Client(base_url=server.url) as http:
            status = http.get("/_gateway/status").json()
    manifest = load_manifest(ROOT / "migration_status.yaml")
    assert status["manifest"]["version"] == manifest.version
    assert status["counts"] == manifest.counts()
    assert len(status["routes"]) == len(manifest.entries)
