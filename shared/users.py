"""Registering a user by Telegram id (`POST /api/users`): who may, and who is refused."""

from __future__ import annotations

from typing import Any

from shared.database.engine import Database
from shared.database.queries.users import get_or_create_user, user_by_telegram_id
from shared.errors import ApiError
from shared.identity import INIT_DATA_HEADER, proven_telegram_user
from shared.rate_limit import Client, FailedAuthGuard
from shared.settings import Settings

BLOCKED = "this user is blocked"  # the 403's message wherever a blocked user is refused


async def check_registration(
    settings: Settings,
    *,
    init_data: str | None,
    telegram_id: int,
    guard: FailedAuthGuard,
    client: Client,
) -> None:
    """With a bot token, only that Telegram user themself, proven by initData.

    Without one (development) the request is trusted, as `user_id` is elsewhere.
    """
    if not settings.telegram_bot_token:
        return
    if not init_data:
        raise ApiError("unauthorized", f"{INIT_DATA_HEADER} header is required")
    telegram_user = await proven_telegram_user(
        init_data, bot_token=settings.telegram_bot_token, guard=guard, client=client
    )
    if telegram_user.id != telegram_id:
        raise ApiError("forbidden", "telegram_id names another Telegram user")


async def register_user(
    db: Database, *, telegram_id: int, username: str | None, language: str | None
) -> tuple[dict[str, Any], bool]:
    """Get or create the user; a blocked user is refused before anything is written."""
    existing = await user_by_telegram_id(db, telegram_id=telegram_id)
    if existing is not None and existing["is_blocked"]:
        raise ApiError("forbidden", BLOCKED)
    return await get_or_create_user(
        db, telegram_id=telegram_id, username=username, language=language
    )
