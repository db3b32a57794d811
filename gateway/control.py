"""The gateway's control surfaces: who may see them, and their answers' shape.

`/_gateway/*` (dashboard, status), `/metrics` and the OpenAPI pages (`/docs`, `/redoc`,
`/openapi.json`) are open in development. With `ENVIRONMENT=production` they need
`Authorization: Bearer <ADMIN_TOKEN>`, the same credential as the admin API (a Prometheus
scrape job sets it as its `authorization` credentials): they show request paths, error
rates and the whole API surface, which are an attacker's map.
"""

from __future__ import annotations

import hmac

from starlette.types import Scope, Send

from gateway.guard import send_error
from shared.errors import error_body
from shared.settings import Settings

CONTROL_PREFIXES = ("/_gateway/", "/metrics", "/docs", "/redoc", "/openapi.json")


def is_control_path(path: str) -> bool:
    return path == "/_gateway" or path.startswith(CONTROL_PREFIXES)


class ControlLock:
    """Refuses anonymous access to the control surfaces in production (checked first by
    the dispatcher, for every request)."""

    def __init__(self, settings: Settings) -> None:
        self.locked = settings.environment == "production"
        self.token = (settings.admin_token or "").encode()

    def refuses(self, scope: Scope) -> bool:
        if not self.locked or not is_control_path(scope["path"]):
            return False
        authorization = b""
        for name, value in scope.get("headers", ()):
            if name == b"authorization":
                authorization = value
                break
        scheme, _, token = authorization.partition(b" ")
        return not (
            scheme.lower() == b"bearer"
            and self.token
            and hmac.compare_digest(token.strip(), self.token)
        )

    @staticmethod
    async def refuse(send: Send) -> None:
        await send_error(
            send,
            401,
            error_body(
                "unauthorized",
                "the gateway's control surfaces need the admin bearer token in production",
            ),
            {"WWW-Authenticate": "Bearer"},
        )
