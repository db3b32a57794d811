"""Per request: route id -> manifest entry -> the half that answers."""

from __future__ import annotations

import zlib
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.manifest import RouteEntry, RouteTable
from shared.identity import INIT_DATA_HEADER

LEGACY, ASYNC = "legacy", "async"
# Paths the gateway itself serves from the async half's app (its OpenAPI docs).
ASYNC_ONLY_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/openapi.json", "/redoc"})
_INIT_DATA = INIT_DATA_HEADER.lower().encode()


def canary_bucket(scope: Scope) -> int:
    """0..99, stable for one user: the Telegram user, else `user_id`, else the client address."""
    key = ""
    for name, value in scope.get("headers", ()):
        if name == _INIT_DATA:
            for field, raw in parse_qsl(value.decode("latin-1")):
                if field == "user":
                    key = "tg:" + raw
            break
    if not key:
        for field, value in parse_qsl(scope.get("query_string", b"").decode("latin-1")):
            if field == "user_id":
                key = "user:" + value
                break
    if not key:
        client = scope.get("client")
        key = "addr:" + (client[0] if client else "")
    return zlib.crc32(key.encode()) % 100


def side_for(entry: RouteEntry | None, scope: Scope) -> str:
    if entry is None:
        return LEGACY  # the strangler fig's catch-all: anything unlisted is Flask's
    if entry.status == ASYNC:
        return ASYNC
    if entry.status == "canary" and canary_bucket(scope) < entry.percent:
        return ASYNC
    return LEGACY  # legacy, shadow (Flask answers), and the rest of a canary


class RouteDispatcher:
    """Plain ASGI middleware in front of the gateway's own routes."""

    def __init__(self, app: ASGIApp, *, gateway: object) -> None:
        self.app = app
        self.gateway = gateway

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if path.startswith("/_gateway") or path == "/metrics":
            await self.app(scope, receive, send)
            return
        gateway = self.gateway
        if path in ASYNC_ONLY_PATHS:
            await gateway.async_app(scope, receive, send)  # type: ignore[attr-defined]
            return
        table: RouteTable = gateway.table  # type: ignore[attr-defined]
        entry = table.match(scope["method"], path)
        side = side_for(entry, scope)
        headers = [(b"x-served-by", side.encode())]
        if entry is not None:
            headers.append((b"x-route-id", entry.id.encode()))
            scope["route_id"] = entry.id

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *headers]
            await send(message)

        half = gateway.async_app if side == ASYNC else gateway.legacy_app  # type: ignore[attr-defined]
        await half(scope, receive, send_with_headers)
