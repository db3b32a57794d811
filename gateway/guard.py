"""The gateway's last line: every HTTP request gets a status line, in the catalogue's shape.

Both halves render their own errors; this catches what escapes them (or the dispatcher)
before `http.response.start`: an `ApiError` keeps its status and headers (a database
outage is 503 with `Retry-After`), anything else is a 500. Once an answer has started it
cannot be replaced: a body cut short re-raises so the server closes the connection.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.database.engine import unavailable_from
from shared.errors import ApiError, error_body

log = logging.getLogger(__name__)


def _api_error_in(exc: BaseException) -> ApiError | None:
    """The client-facing error `exc` stands for, looking inside exception groups."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            found = _api_error_in(inner)
            if found is not None:
                return found
        return None
    return unavailable_from(exc)


class _Progress:
    __slots__ = ("started", "complete")

    def __init__(self) -> None:
        self.started = False
        self.complete = False


class ResponseGuard:
    """Plain ASGI middleware around the whole gateway."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        progress = _Progress()

        async def tracked(message: Message) -> None:
            if message["type"] == "http.response.start":
                progress.started = True
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                progress.complete = True
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception as exc:
            if progress.complete:
                # The half answered in full, logged the error and re-raised it for its
                # server: keep the connection open for the client's next request.
                log.warning("%s after a complete answer to %s", type(exc).__name__, scope["path"])
                return
            if progress.started:
                raise
            await _answer(send, scope, exc)


async def _answer(send: Send, scope: Scope, exc: Exception) -> None:
    error = _api_error_in(exc)
    if error is None:
        log.error("unhandled error escaped %s %s", scope["method"], scope["path"], exc_info=exc)
        status, body, headers = 500, error_body("internal", "internal server error"), {}
    else:
        log.warning("%s %s: %s (%r)", scope["method"], scope["path"], error.message, exc)
        status, body, headers = error.status, error.body(), error.headers()
    await send_error(send, status, body, headers, with_body=scope["method"] != "HEAD")


async def send_error(
    send: Send,
    status: int,
    body: dict[str, Any],
    headers: dict[str, str] | None = None,
    *,
    with_body: bool = True,
) -> None:
    """An answer in the catalogue's error shape, sent by the gateway itself."""
    payload = json.dumps(body, separators=(",", ":")).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                *(
                    (name.lower().encode(), value.encode())
                    for name, value in (headers or {}).items()
                ),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload if with_body else b""})
