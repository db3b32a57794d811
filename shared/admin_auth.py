"""Admin endpoints: `Authorization: Bearer <ADMIN_TOKEN>`, compared in constant time.

A wrong token counts against the client's address (see `shared.rate_limit`).
"""

from __future__ import annotations

import hmac

from shared.errors import ApiError
from shared.rate_limit import Client, FailedAuthGuard, guarded
from shared.settings import Settings


async def check_admin(
    settings: Settings, authorization: str | None, *, guard: FailedAuthGuard, client: Client
) -> str:
    """Raise the catalogue's error unless the header carries the admin token; the actor name."""
    if not settings.admin_token:
        raise ApiError("unavailable", "admin access is not configured (ADMIN_TOKEN is unset)")
    admin_token = settings.admin_token
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise ApiError("unauthorized", "an admin bearer token is required")

    def verify() -> str:
        if not hmac.compare_digest(token.strip().encode(), admin_token.encode()):
            raise ApiError("unauthorized", "the admin token is wrong")
        return "admin"

    return await guarded(guard, client, verify)
