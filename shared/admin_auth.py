"""Admin endpoints: `Authorization: Bearer <ADMIN_TOKEN>`, compared in constant time."""

from __future__ import annotations

import hmac

from shared.errors import ApiError
from shared.settings import Settings


def check_admin(settings: Settings, authorization: str | None) -> str:
    """Raise the catalogue's error unless the header carries the admin token; the actor name."""
    if not settings.admin_token:
        raise ApiError("unavailable", "admin access is not configured (ADMIN_TOKEN is unset)")
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise ApiError("unauthorized", "an admin bearer token is required")
    if not hmac.compare_digest(token.strip().encode(), settings.admin_token.encode()):
        raise ApiError("unauthorized", "the admin token is wrong")
    return "admin"
