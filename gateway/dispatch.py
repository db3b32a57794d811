"""Per request: route id -> manifest entry -> the half that answers.

The fast path (legacy, async, canary) streams straight through. Shadowed routes and
async routes with a fallback buffer the request body so it can be replayed. A chunked
body is buffered for every route (werkzeug under a2wsgi would read none of it), and
OPTIONS on a listed path is answered here, from the manifest, whichever half owns it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import zlib
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from async_api.limits import declared_length, is_chunked, with_known_length
from gateway.control import ControlLock
from gateway.guard import answer_escaped
from gateway.manifest import RouteEntry
from gateway.recording import Recorder, recorded_receive
from gateway.shadow import Captured, ShadowRequest, ShadowRunner, replay_receive
from shared.errors import error_body
from shared.identity import INIT_DATA_HEADER

if TYPE_CHECKING:
    from gateway.app import Gateway

LEGACY, ASYNC = "legacy", "async"
# Paths the gateway itself serves from the async half's app (its OpenAPI pages, with their
# assets under /docs/, and the favicon).
ASYNC_ONLY_PATHS = frozenset({"/docs", "/openapi.json", "/redoc", "/favicon.ico"})
ASYNC_ONLY_PREFIX = "/docs/"
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT"})
_INIT_DATA = INIT_DATA_HEADER.lower().encode()
MATCH_CACHE_SIZE = 4096
_Special = Callable[["RouteEntry", Scope, Receive, Send, "_Outcome"], Awaitable[None]]


def canary_bucket(scope: Scope) -> int:
    """0..99, stable for one user: the Telegram user, else `user_id`, else the client address."""
    return zlib.crc32(client_key(scope).encode()) % 100


def client_key(scope: Scope) -> str:
    """Who is asking: the Telegram user, else `user_id`, else the client address."""
    key = ""
    for name, value in scope.get("headers", ()):
        if name == _INIT_DATA:
            for field, raw in parse_qsl(value.decode("latin-1")):
                if field == "user":
                    key = "tg:" + raw
            break
    query = scope.get("query_string", b"")
    if not key and (b"user_id=" in query or b"%" in query):  # parsed when it can be there
        for field, value in parse_qsl(query.decode("latin-1")):
            if field == "user_id":
                key = "user:" + value
                break
    if not key:
        client = scope.get("client")
        key = "addr:" + (client[0] if client else "")
    return key


def side_for(entry: RouteEntry | None, scope: Scope) -> str:
    if entry is None:
        return LEGACY  # the strangler fig's catch-all: anything unlisted is Flask's
    if entry.status == ASYNC:
        return ASYNC
    if entry.status == "canary" and canary_bucket(scope) < entry.percent:
        return ASYNC
    return LEGACY  # legacy, shadow (Flask answers), and the rest of a canary


def mirrored(entry: RouteEntry, side: str) -> bool:
    """Flask answers and FastAPI is compared: a shadowed route, and the legacy share of a
    progressive canary gated on parity (gateway/canary.py)."""
    if entry.status == "shadow":
        return True
    canary = entry.canary if entry.status == "canary" else None
    return side == LEGACY and canary is not None and canary.min_parity_rate is not None


def _canonical_slash(scope: Scope, entry: RouteEntry) -> Scope:
    """Flask matches `/api/events` to `/api/events/` (and back); Starlette does not."""
    path: str = scope["path"]
    wants_slash = entry.path.endswith("/")
    if path.endswith("/") == wants_slash or path == "/":
        return scope
    path = path + "/" if wants_slash else path.rstrip("/")
    return {**scope, "path": path, "raw_path": path.encode()}


class RouteDispatcher:
    """Plain ASGI, outermost for HTTP, in one frame for a routed request: the control
    surfaces' lock in production (gateway/control.py), the route's half, and the
    catalogue's error for whatever escapes before an answer starts (gateway/guard.py)."""

    def __init__(self, app: ASGIApp, *, gateway: Gateway, lock: ControlLock) -> None:
        self.app = app
        self.gateway = gateway
        self.lock = lock
        # (method, path) -> entry, for the table in force: werkzeug's matcher walks its
        # rules on every call, and a client asks for the same few paths over and over.
        self._matched: dict[tuple[str, str], RouteEntry | None] = {}
        self._matched_in: object = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.lock.locked and self.lock.refuses(scope):
            await self.lock.refuse(send)
            return
        outcome = _Outcome(LEGACY)
        try:
            path = scope["path"]
            if path.startswith("/_gateway") or path == "/metrics":
                await self.app(scope, receive, outcome.tracking(send))
                return
            gateway = self.gateway
            if path in ASYNC_ONLY_PATHS or path.startswith(ASYNC_ONLY_PREFIX):
                await gateway.async_app(scope, receive, outcome.tracking(send))
                return
            if scope["method"] == "OPTIONS":
                allowed = gateway.table.allowed_methods(path)
                if allowed:
                    await _answer_options(outcome.tracking(send), allowed)
                    return
            if is_chunked(scope):  # handed on with its length: over the limit, each half 413s
                limit = gateway.settings.max_body_bytes
                scope, receive = await with_known_length(scope, receive, max_bytes=limit)
            entry = self._match(scope["method"], path)
            if entry is None:
                if gateway.legacy_app is None:  # Flask retired: nothing else can answer it
                    await _answer_not_found(outcome.tracking(send))
                    return
                await gateway.legacy_app(scope, receive, outcome.sender(send, None))
                return
            side = outcome.side = side_for(entry, scope)
            if side == ASYNC:
                scope = _canonical_slash(scope, entry)
            started = time.perf_counter()
            recorded: tuple[bytes, Captured] | None = None
            if Recorder.wants(entry) and self._replayable(scope):
                # Buffered as for a shadow; the case is handed over once the answer is sent.
                body = await _read_body(receive)
                receive = recorded_receive(body, receive)
                recorded = (body, Captured())
                send = _teed(send, recorded[1])
            special = self._special(entry, side, scope)
            try:
                if special is not None:  # a shadow or a fallback: the body is replayed
                    await special(entry, scope, receive, send, outcome)
                else:
                    half = gateway.async_app if side == ASYNC else gateway.legacy_app
                    assert half is not None  # retired: every route is async
                    await half(scope, receive, outcome.sender(send, entry))
            finally:
                gateway.observe(entry, outcome, time.perf_counter() - started, client_key(scope))
            if recorded is not None and recorded[1].status:
                gateway.recorder.sampled(entry, scope, recorded[0], recorded[1], outcome.side)
        except Exception as exc:
            if outcome.started and not outcome.complete:
                raise  # an answer cut short: the server closes the connection
            await answer_escaped(exc, scope, send, complete=outcome.complete)

    def _match(self, method: str, path: str) -> RouteEntry | None:
        table = self.gateway.table
        if table is not self._matched_in:  # a new manifest, rollback or override
            self._matched, self._matched_in = {}, table
        key = (method, path)
        try:
            return self._matched[key]
        except KeyError:
            entry = table.match(method, path)
            if len(self._matched) < MATCH_CACHE_SIZE:  # ids in paths: bounded
                self._matched[key] = entry
            return entry

    def _special(self, entry: RouteEntry, side: str, scope: Scope) -> _Special | None:
        """How a request that cannot simply stream through is served: shadowed (Flask
        answers, FastAPI is compared) or with a fallback to Flask."""
        if not self._replayable(scope):
            return None
        if mirrored(entry, side) and ShadowRunner.wants(entry, scope["method"]):
            return self._shadowed
        fallback = entry.fallback
        if (
            side == ASYNC
            and self.gateway.legacy_app is not None
            and (fallback.on_5xx or fallback.timeout_ms)
            and scope["method"] in IDEMPOTENT_METHODS
        ):
            return self._with_fallback
        return None

    def _replayable(self, scope: Scope) -> bool:
        length = declared_length(scope)
        return (
            length is not None
            and length <= self.gateway.settings.max_body_bytes
            or (length is None and scope["method"] in ("GET", "HEAD", "DELETE", "OPTIONS"))
        )

    async def _shadowed(
        self, entry: RouteEntry, scope: Scope, receive: Receive, send: Send, outcome: _Outcome
    ) -> None:
        body = await _read_body(receive)
        primary = Captured()
        forward = outcome.sender(send, entry)

        async def tee(message: Message) -> None:
            primary.take(message)
            await forward(message)

        legacy = self.gateway.legacy_app
        assert legacy is not None  # only a loaded legacy half is shadowed
        await legacy(scope, replay_receive(body), tee)
        # Scheduled only now: the client already has its complete answer.
        self.gateway.shadow.submit(ShadowRequest(entry, scope, body), primary)

    async def _with_fallback(
        self, entry: RouteEntry, scope: Scope, receive: Receive, send: Send, outcome: _Outcome
    ) -> None:
        body = await _read_body(receive)
        rules = entry.fallback
        committed = asyncio.Event()
        failed = False
        forward = outcome.sender(send, entry)

        async def guarded(message: Message) -> None:
            nonlocal failed
            if message["type"] == "http.response.start":
                if rules.on_5xx and message["status"] >= 500:
                    failed = True
                    return
                committed.set()
            if not failed:
                await forward(message)

        attempt = asyncio.ensure_future(
            self.gateway.async_app(dict(scope), replay_receive(body), guarded)
        )
        waiter = asyncio.ensure_future(committed.wait())
        timeout = rules.timeout_ms / 1000 if rules.timeout_ms else None
        await asyncio.wait({attempt, waiter}, timeout=timeout, return_when="FIRST_COMPLETED")
        waiter.cancel()
        if committed.is_set():
            await attempt
            return
        reason = "5xx" if failed or attempt.done() else "timeout"
        if not attempt.done():
            attempt.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await attempt
        outcome.async_failed = True
        self.gateway.metrics.fallbacks.labels(entry.id, reason).inc()
        outcome.side = LEGACY
        outcome.extra_headers = [(b"x-fallback", f"async-{reason}".encode())]
        legacy = self.gateway.legacy_app
        assert legacy is not None  # fallback needs a loaded legacy half
        await legacy(scope, replay_receive(body), outcome.sender(send, entry))


class _Outcome:
    """What happened to one request: the side that answered, its status, and how far its
    answer got (whether an error can still be answered: gateway/guard.py)."""

    __slots__ = ("side", "status", "async_failed", "extra_headers", "started", "complete")

    def __init__(self, side: str) -> None:
        self.side = side
        self.status = 500
        self.async_failed = False
        self.extra_headers: list[tuple[bytes, bytes]] = []
        self.started = False
        self.complete = False

    def tracking(self, send: Send) -> Send:
        async def send_tracked(message: Message) -> None:
            kind = message["type"]
            if kind == "http.response.start":
                self.started = True
            elif kind == "http.response.body" and not message.get("more_body"):
                self.complete = True
            await send(message)

        return send_tracked

    def sender(self, send: Send, entry: RouteEntry | None) -> Send:
        """`send` with X-Served-By (and X-Route-Id for a listed route), tracked."""
        headers = [(b"x-served-by", self.side.encode())]
        if entry is not None:
            headers.append((b"x-route-id", entry.id.encode()))
        headers.extend(self.extra_headers)

        async def send_with_headers(message: Message) -> None:
            kind = message["type"]
            if kind == "http.response.start":
                self.status = message["status"]
                self.started = True
                message["headers"] = [*message.get("headers", ()), *headers]
            elif kind == "http.response.body" and not message.get("more_body"):
                self.complete = True
            await send(message)

        return send_with_headers


async def _answer_options(send: Send, methods: list[str]) -> None:
    """204 with the methods the manifest routes for the path, not one half's view of them."""
    allow = ", ".join(sorted((*methods, "OPTIONS")))
    headers = [(b"allow", allow.encode()), (b"x-served-by", b"gateway")]
    await send({"type": "http.response.start", "status": 204, "headers": headers})
    await send({"type": "http.response.body", "body": b""})


async def _answer_not_found(send: Send) -> None:
    """The catalogue's 404, for an unlisted path while the legacy half is retired."""
    body = json.dumps(error_body("not_found", "no such endpoint"), separators=(",", ":"))
    headers = [(b"content-type", b"application/json"), (b"x-served-by", b"gateway")]
    await send({"type": "http.response.start", "status": 404, "headers": headers})
    await send({"type": "http.response.body", "body": body.encode()})


def _teed(send: Send, captured: Captured) -> Send:
    async def send_and_keep(message: Message) -> None:
        captured.take(message)
        await send(message)

    return send_and_keep


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    return b"".join(chunks)
