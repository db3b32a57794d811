"""Request bodies over the limit are refused with 413 before any handler sees them."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.errors import error_body


def declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


def is_chunked(scope: Scope) -> bool:
    """A body with no Content-Length: chunked in HTTP/1.1, plain DATA frames in HTTP/2."""
    framed = str(scope.get("http_version", "1.1")).startswith("2")
    for name, _ in scope.get("headers", ()):
        if name == b"content-length":
            return False
        if name == b"transfer-encoding":
            framed = True
    return framed


async def with_known_length(
    scope: Scope, receive: Receive, *, max_bytes: int
) -> tuple[Scope, Receive]:
    """A chunked body read up to `max_bytes + 1` and handed on as an ordinary body with its
    Content-Length, so every layer after this one sees it (werkzeug under a2wsgi reads no
    body without one) and a body over the limit is refused by its declared length."""
    chunks: list[bytes] = []
    received = 0
    while received <= max_bytes:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        chunks.append(chunk)
        received += len(chunk)
        if not message.get("more_body"):
            break
    body = b"".join(chunks)[: max_bytes + 1]
    headers = [(name, value) for name, value in scope["headers"] if name != b"transfer-encoding"]
    headers.append((b"content-length", str(len(body)).encode()))
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:  # later calls wait for the client to go away, as on any request
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return {**scope, "headers": headers}, replay


class BodySizeLimit:
    """Plain ASGI: checks Content-Length up front; a chunked body is read first (up to the
    limit) and then checked the same way."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if is_chunked(scope):
            scope, receive = await with_known_length(scope, receive, max_bytes=self.max_bytes)
        length = declared_length(scope)
        if length is not None and length > self.max_bytes:
            await refuse_too_large(send)
            return
        await self.app(scope, receive, send)


async def refuse_too_large(send: Send) -> None:
    body = json.dumps(
        error_body("payload_too_large", "request body is larger than 1 MiB"),
        separators=(",", ":"),
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
