"""GET /api/metrics/*: this process's figures, the deep health check (database and a real
OpenAI-compatible stand-in on loopback), the pool, per-route latency and content totals."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from shared.database.demo import demo_rows
from shared.database.rows import iso
from tests.conftest import ANCHOR, http_client, make_settings
from tests.support.gateway_server import GatewayServer
from tests.support.servers import OpenAIStub

StartGateway = Callable[..., tuple[GatewayServer, httpx.Client]]
DEMO = demo_rows(ANCHOR)
UNREACHABLE_DATABASE = "postgresql+asyncpg://postgres@127.0.0.1:1/down"
LAST_INGEST = iso(max(row["last_fetched_at"] for row in DEMO["sources"]))


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    return response.json()


def eventually(client: httpx.Client, path: str, done: Callable[[Any], bool]) -> Any:
    """GET `path` until `done(body)`: a request is recorded once its half returns, which
    may be just after the client has read the answer."""
    deadline = time.monotonic() + 5
    while not done(body := ok(client.get(path))):
        assert time.monotonic() < deadline, f"{path} never reached the expected figures"
        time.sleep(0.02)
    return body


@pytest.fixture
def openai_stub() -> Iterator[OpenAIStub]:
    with OpenAIStub() as stub:
        yield stub


@pytest.fixture
def database_down(half: str) -> Iterator[httpx.Client]:
    """A gateway whose database refuses connections (nothing listens on port 1)."""
    settings = make_settings(UNREACHABLE_DATABASE)
    with GatewayServer(settings, force_status=half) as server, http_client(server, half) as http:
        yield http


def test_process_metrics_count_the_requests_served(client: httpx.Client) -> None:
    first = ok(client.get("/api/metrics"))
    assert set(first) == {"pid", "started_at", "uptime_seconds", "requests", "errors"}
    assert isinstance(first["pid"], int)
    assert first["started_at"].endswith("Z")
    for _ in range(3):
        client.get("/api/news/latest", params={"limit": 1})
    # The three above, at least (and the first /api/metrics).
    second = eventually(client, "/api/metrics", lambda b: b["requests"] >= first["requests"] + 4)
    assert second["pid"] == first["pid"]
    assert second["started_at"] == first["started_at"]
    assert second["uptime_seconds"] >= first["uptime_seconds"] >= 0
    assert second["errors"] == first["errors"]


def test_deep_health_without_ai_is_ok_with_ai_not_configured(client: httpx.Client) -> None:
    body = ok(client.get("/api/metrics/health"))
    assert body["status"] == "ok"
    assert body["database"]["ok"] is True
    assert isinstance(body["database"]["latency_ms"], float)
    assert body["database"]["latency_ms"] >= 0
    assert body["ai"] == {"configured": False, "reachable": None}
    assert body["last_ingest_at"] == LAST_INGEST


def test_deep_health_reaches_the_ai_models_endpoint(
    start_gateway: StartGateway, openai_stub: OpenAIStub
) -> None:
    _, http = start_gateway(openai_api_key="test", openai_base_url=openai_stub.base_url + "/v1")
    body = ok(http.get("/api/metrics/health"))
    assert body["status"] == "ok"
    assert body["ai"] == {"configured": True, "reachable": True}
    checks = [r for r in openai_stub.requests if r["path"] == "/v1/models"]
    assert len(checks) == 1
    assert checks[0]["headers"]["authorization"] == "Bearer test"

    openai_stub.stop()  # nothing listens there any more
    response = http.get("/api/metrics/health")
    assert response.status_code == 200  # a missing AI degrades the service, it does not fail it
    body = response.json()
    assert body["status"] == "degraded"
    assert body["ai"] == {"configured": True, "reachable": False}
    assert body["database"]["ok"] is True


def test_ai_answering_an_error_is_unreachable(
    start_gateway: StartGateway, openai_stub: OpenAIStub
) -> None:
    # The stub answers 404 outside its API paths, as a wrong base URL would.
    _, http = start_gateway(openai_api_key="test", openai_base_url=openai_stub.base_url + "/nope")
    body = ok(http.get("/api/metrics/health"))
    assert body["ai"] == {"configured": True, "reachable": False}
    assert body["status"] == "degraded"


def test_database_down_is_503_with_the_health_body(database_down: httpx.Client) -> None:
    response = database_down.get("/api/metrics/health")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "status": "down",
        "database": {"ok": False, "latency_ms": None},
        "ai": {"configured": False, "reachable": None},
        "last_ingest_at": None,
    }


def test_failed_requests_are_counted_as_errors(database_down: httpx.Client) -> None:
    before = ok(database_down.get("/api/metrics"))["errors"]
    assert database_down.get("/api/metrics/content").status_code == 503
    after = eventually(database_down, "/api/metrics", lambda b: b["errors"] > before)
    assert after["errors"] == before + 1
    routes = ok(database_down.get("/api/metrics/routes"))["routes"]
    content = [row for row in routes if row["route_id"] == "metrics.content"]
    assert len(content) == 1 and content[0]["errors"] == content[0]["requests"] == 1


def test_database_figures_name_the_backend_and_its_pool(
    client: httpx.Client, database_url: str
) -> None:
    body = ok(client.get("/api/metrics/db"))
    assert body["backend"] == ("sqlite" if database_url.startswith("sqlite") else "postgresql")
    pool = body["pool"]
    assert set(pool) == {
        "type",
        "size",
        "max_overflow",
        "timeout_seconds",
        "overflow",
        "checked_in",
        "checked_out",
        "open",
    }
    assert pool["type"] == "AsyncAdaptedQueuePool"
    assert pool["size"] == 10  # DB_POOL_SIZE's default
    assert pool["overflow"] >= 0
    assert pool["open"] == pool["checked_in"] + pool["checked_out"] >= 1
    assert isinstance(body["queries"], int) and body["queries"] > 0


def test_route_figures_are_per_route_and_side(client: httpx.Client, half: str) -> None:
    for _ in range(2):
        ok(client.get("/api/news/latest", params={"limit": 1}))

    def two_latest(body: Any) -> bool:
        return any(
            row["route_id"] == "news.latest_news" and row["requests"] >= 2 for row in body["routes"]
        )

    routes = eventually(client, "/api/metrics/routes", two_latest)["routes"]
    keys = [(row["route_id"], row["side"]) for row in routes]
    assert keys == sorted(keys)
    latest = next(row for row in routes if row["route_id"] == "news.latest_news")
    assert set(latest) == {"route_id", "side", "requests", "errors", "p50_ms", "p95_ms"}
    assert latest["side"] == half
    assert latest["requests"] >= 2
    assert 0 <= latest["p50_ms"] <= latest["p95_ms"]


def test_content_totals_match_the_data(client: httpx.Client) -> None:
    assert ok(client.get("/api/metrics/content")) == {
        "news": len(DEMO["news"]),
        "events": len(DEMO["events"]),
        "sources_enabled": sum(1 for row in DEMO["sources"] if row["enabled"]),
        "last_ingest_at": LAST_INGEST,
    }


def test_metrics_need_no_admin_token(client: httpx.Client) -> None:
    for path in ("/api/metrics", "/api/metrics/db", "/api/metrics/routes"):
        assert client.get(path, headers={"Authorization": "Bearer wrong"}).status_code == 200
