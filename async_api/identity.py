"""The acting user, for async routes (see `shared.identity`), and the client it came from.

`RememberClient` keeps each request's client (address, shadow replay or not) for the
brute-force guard, so routes need not pass the request down to every identity check.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from shared.identity import acting_user
from shared.identity import reader_id as reader_id_of
from shared.rate_limit import Client, client_of
from shared.runtime import Runtime
from shared.users import check_registration as check_registration_of

_client: ContextVar[Client | None] = ContextVar("client", default=None)
_UNKNOWN = Client(address="unknown")  # outside a request (never under the middleware)


class RememberClient:
    """Plain ASGI: the request's client, for `request_client()` (same task, same context)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token = _client.set(client_of(scope))
        try:
            await self.app(scope, receive, send)
        finally:
            _client.reset(token)


def request_client() -> Client:
    return _client.get() or _UNKNOWN


async def current_user(
    rt: Runtime, *, init_data: str | None, user_id: int | None
) -> dict[str, Any]:
    return await acting_user(
        rt.db,
        rt.settings,
        init_data=init_data,
        user_id=user_id,
        guard=rt.auth_guard,
        client=request_client(),
    )


async def check_registration(rt: Runtime, *, init_data: str | None, telegram_id: int) -> None:
    await check_registration_of(
        rt.settings,
        init_data=init_data,
        telegram_id=telegram_id,
        guard=rt.auth_guard,
        client=request_client(),
    )


async def reader_id(rt: Runtime, *, init_data: str | None) -> int | None:
    return await reader_id_of(
        rt.db, rt.settings, init_data=init_data, guard=rt.auth_guard, client=request_client()
    )
