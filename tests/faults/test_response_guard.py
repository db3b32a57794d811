"""Whatever escapes a half, the client gets a status line in the catalogue's shape."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.types import ASGIApp, Receive, Scope, Send

from shared.database.engine import Database, DatabaseUnavailable
from shared.database.migrate import apply_migrations
from tests.conftest import make_settings
from tests.support.gateway_server import GatewayServer

ESCAPES: dict[str, Callable[[], BaseException]] = {
    "/api/news/latest": lambda: RuntimeError("the async half blew up"),
    "/api/news/top": lambda: DatabaseUnavailable(),
    "/api/news/trending": lambda: PoolTimeout("QueuePool limit of size 1 overflow 1 reached"),
    "/api/news/stats": lambda: ExceptionGroup("a task group", [DatabaseUnavailable()]),
}
AFTER_THE_ANSWER = "/api/categories"


def escaping(real: ASGIApp) -> ASGIApp:
    """The async half, but chosen paths raise before answering, or after a full answer."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path")
        if scope["type"] == "http" and path in ESCAPES:
            raise ESCAPES[path]()
        if scope["type"] == "http" and path == AFTER_THE_ANSWER:
            body = json.dumps({"ok": True}).encode()
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": body})
            raise RuntimeError("failed after the answer was complete")
        await real(scope, receive, send)

    return app


async def _migrated(url: str) -> None:
    db = Database(url)
    await db.connect()
    try:
        await apply_migrations(db)
    finally:
        await db.close()


@pytest.fixture(scope="module")
def http(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('guard') / Path('guard.db')}"
    asyncio.run(_migrated(url))
    server = GatewayServer(make_settings(url), force_status="async", wrap_async=escaping)
    with server, httpx.Client(base_url=server.url, timeout=10) as client:
        yield client


def test_an_unexpected_error_escaping_a_half_is_a_500_in_the_catalogue_shape(
    http: httpx.Client,
) -> None:
    response = http.get("/api/news/latest")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"error": {"code": "internal", "message": "internal server error"}}


@pytest.mark.parametrize("path", ["/api/news/top", "/api/news/trending", "/api/news/stats"])
def test_a_database_outage_escaping_a_half_is_a_503_with_retry_after(
    http: httpx.Client, path: str
) -> None:
    response = http.get(path)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "unavailable"
    assert int(response.headers["retry-after"]) >= 1


def test_an_error_after_a_complete_answer_keeps_the_connection_open(http: httpx.Client) -> None:
    first = http.get(AFTER_THE_ANSWER)
    second = http.get(AFTER_THE_ANSWER)  # on the same keep-alive connection
    assert (first.status_code, first.json()) == (200, {"ok": True})
    assert (second.status_code, second.json()) == (200, {"ok": True})
