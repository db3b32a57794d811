"""Who is asking: the user a user-scoped request acts as.

With a bot token configured, the `X-Telegram-Init-Data` header proves the user and a
`user_id` naming anyone else is refused. Without one (development) `user_id` is trusted.
"""

from __future__ import annotations

from typing import Any

from shared.database.engine import Database
from shared.database.queries.users import user_by_id, user_by_telegram_id
from shared.errors import ApiError, invalid, message, not_found
from shared.settings import Settings
from shared.telegram_auth import InitDataError, validate_init_data

INIT_DATA_HEADER = "X-Telegram-Init-Data"


async def acting_user(
    db: Database, settings: Settings, *, init_data: str | None, user_id: int | None
) -> dict[str, Any]:
    if settings.telegram_bot_token:
        if not init_data:
            raise ApiError("unauthorized", f"{INIT_DATA_HEADER} header is required")
        try:
            telegram_user = validate_init_data(init_data, bot_token=settings.telegram_bot_token)
        except InitDataError as exc:
            raise ApiError("unauthorized", f"invalid Telegram init data: {exc}") from None
        user = await user_by_telegram_id(db, telegram_id=telegram_user.id)
        if user is None:
            raise ApiError("forbidden", "this Telegram user is not registered")
        if user_id is not None and user_id != user["id"]:
            raise ApiError("forbidden", "user_id names another user")
    else:
        if user_id is None:
            raise invalid("user_id", message("missing"))
        user = await user_by_id(db, user_id=user_id)
        if user is None:
            raise not_found("user")
    if user["is_blocked"]:
        raise ApiError("forbidden", "this user is blocked")
    return user
