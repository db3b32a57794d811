"""HEAD on every GET route: the GET's status and headers, without its body (as werkzeug).

FastAPI routes answer only the methods they list, and listing HEAD on them would add HEAD
operations to the OpenAPI document; so HEAD is run as the GET here, and its body dropped.
"""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Message, Receive, Scope, Send

_DISCONNECT: Message = {"type": "http.disconnect"}


class HeadAsGet:
    """Plain ASGI. Once the headers are out the request is over: a streamed GET (Server-Sent
    Events) is told the client has gone, so it stops instead of producing unsent events."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return
        answered = asyncio.Event()

        async def headers_only(message: Message) -> None:
            if answered.is_set():
                return
            if message["type"] == "http.response.body":
                answered.set()
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        async def receive_until_answered() -> Message:
            if answered.is_set():
                return _DISCONNECT
            message = asyncio.ensure_future(receive())
            done = asyncio.ensure_future(answered.wait())
            await asyncio.wait((message, done), return_when=asyncio.FIRST_COMPLETED)
            done.cancel()
            if message.done():
                return message.result()
            message.cancel()
            return _DISCONNECT

        await self.app({**scope, "method": "GET"}, receive_until_answered, headers_only)
