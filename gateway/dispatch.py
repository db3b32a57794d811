"""Per request: route id -> manifest entry -> the half that answers."""

from __future__ import annotations

import time
import zlib
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.manifest import RouteEntry
from shared.identity import INIT_DATA_HEADER

if TYPE_CHECKING:
    from gateway.app import Gateway

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


def _canonical_slash(scope: Scope, entry: RouteEntry) -> Scope:
    """Flask matches `/api/events` to `/api/events/` (and back); Starlette does not."""
    path: str = scope["path"]
    wants_slash = entry.path.endswith("/")
    if path.endswith("/") == wants_slash or path == "/":
        return scope
    path = path + "/" if wants_slash else path.rstrip("/")
    return {**scope, "path": path, "raw_path": path.encode()}


class RouteDispatcher:
    """Plain ASGI middleware in front of the gateway's own routes."""

    def __init__(self, app: ASGIApp, *, gateway: Gateway) -> None:
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
            await gateway.async_app(scope, receive, send)
            return
        entry = gateway.table.match(scope["method"], path)
        side = side_for(entry, scope)
        headers = [(b"x-served-by", side.encode())]
        route_id = entry.id if entry is not None else "unmatched"
        if entry is not None:
            headers.append((b"x-route-id", entry.id.encode()))
            if side == ASYNC:
                scope = _canonical_slash(scope, entry)
        started = time.perf_counter()
        status = 500

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), *headers]
            await send(message)

        try:
            if side == ASYNC:
                await gateway.async_app(scope, receive, send_with_headers)
            else:
                await gateway.legacy_app(scope, receive, send_with_headers)
        finally:
            runtime = gateway.runtime
            if runtime is not None:
                runtime.stats.record(route_id, side, status, time.perf_counter() - started)
