"""An async half that misbehaves on chosen paths: for shadow and fallback tests."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send


def misbehaving(mode: str, *, paths: set[str], delay: float = 0.0) -> Callable[[ASGIApp], ASGIApp]:
    """`error` (a 500), `raise`, `hang`, `slow` (answers after `delay`), `different` (a 200
    with another body); every other path is the real async half."""

    def wrap(real: ASGIApp) -> ASGIApp:
        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http" or scope["path"] not in paths:
                await real(scope, receive, send)
                return
            if mode == "raise":
                raise RuntimeError("the async half blew up")
            if mode == "hang":
                await asyncio.sleep(3600)
            if mode == "slow":
                await asyncio.sleep(delay)
                await real(scope, receive, send)
                return
            status, body = (500, {"error": {"code": "internal", "message": "boom"}})
            if mode == "different":
                status, body = 200, {"news": [], "count": 0}
            raw = json.dumps(body).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": status,
                    "headers": [(b"content-type", b"application/json")],
                }
            )
            await send({"type": "http.response.body", "body": raw})

        return app

    return wrap


def blocking(
    *, paths: set[str], seconds: float, spin: bool = False
) -> Callable[[ASGIApp], ASGIApp]:
    """An async half whose handler on `paths` makes the classic mistake: a blocking call
    (`time.sleep`), or with `spin` a computation that never yields."""
    import time

    def wrap(real: ASGIApp) -> ASGIApp:
        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http" and scope["path"] in paths:
                if spin:
                    until = time.thread_time() + seconds
                    while time.thread_time() < until:
                        pass
                else:
                    time.sleep(seconds)  # noqa: ASYNC251 - the mistake under test
            await real(scope, receive, send)

        return app

    return wrap
