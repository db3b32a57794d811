"""The gateway's last line: every HTTP request gets a status line, in the catalogue's shape.

Both halves render their own errors; the dispatcher (gateway/dispatch.py), outermost,
hands what escapes them (or itself) before `http.response.start` to `answer_escaped`: an
`ApiError` keeps its status and headers (a database outage is 503 with `Retry-After`),
anything else is a 500. Once an answer has started it cannot be replaced: a body cut
short re-raises so the server closes the connection.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from starlette.types import Scope, Send

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


async def answer_escaped(exc: Exception, scope: Scope, send: Send, *, complete: bool) -> None:
    """What escaped a half (or the dispatcher) before its answer started: the catalogue's
    error. After a complete answer (the half logged the error and re-raised it for its
    server) nothing is sent, and the connection stays open for the client's next request.
    An answer cut short is not the caller's to replace: it re-raises instead."""
    if complete:
        log.warning("%s after a complete answer to %s", type(exc).__name__, scope["path"])
        return
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
