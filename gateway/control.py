"""The gateway's control surfaces: who may see them, and their answers' shape.

`/_gateway/*` (dashboard, status), `/metrics` and the OpenAPI pages (`/docs`, `/redoc`,
`/openapi.json`) are open in development. With `ENVIRONMENT=production` they need
`Authorization: Bearer <ADMIN_TOKEN>`, the same credential as the admin API (a Prometheus
scrape job sets it as its `authorization` credentials): they show request paths, error
rates and the whole API surface, which are an attacker's map.
"""

from __future__ import annotations

import hmac

from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.guard import send_error
from shared.errors import error_body
from shared.settings import Settings

CONTROL_PREFIXES = ("/_gateway/", "/metrics", "/docs", "/redoc", "/openapi.json")


def is_control_path(path: str) -> bool:
    return path == "/_gateway" or path.startswith(CONTROL_PREFIXES)


class ControlSurfaceGuard:
    """Plain ASGI, outermost: refuses anonymous access to control surfaces in production."""

    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        self.app = app
        self.locked = settings.environment == "production"
        self.token = (settings.admin_token or "").encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.locked or not is_control_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        authorization = b""
        for name, value in scope.get("headers", ()):
            if name == b"authorization":
                authorization = value
                break
        scheme, _, token = authorization.partition(b" ")
        if (
            scheme.lower() == b"bearer"
            and self.token
            and hmac.compare_digest(token.strip(), self.token)
        ):
            await self.app(scope, receive, send)
            return
        await send_error(
            send,
            401,
            error_body(
                "unauthorized",
                "the gateway's control surfaces need the admin bearer token in production",
            ),
            {"WWW-Authenticate": "Bearer"},
        )
