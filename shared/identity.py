"""Who is asking: the user a user-scoped request acts as.

With a bot token configured, the `X-Telegram-Init-Data` header proves the user and a
`user_id` naming anyone else is refused. Without one (development) `user_id` is trusted.
initData that proves nothing counts against the client's address (`shared.rate_limit`).
"""

from __future__ import annotations

from typing import Any

from shared.database.engine import Database
from shared.database.queries.users import user_by_id, user_by_telegram_id
from shared.errors import ApiError, invalid, message, not_found
from shared.rate_limit import Client, FailedAuthGuard, guarded
from shared.settings import Settings
from shared.telegram_auth import InitDataError, TelegramUser, validate_init_data

INIT_DATA_HEADER = "X-Telegram-Init-Data"


async def proven_telegram_user(
    init_data: str, *, bot_token: str, guard: FailedAuthGuard, client: Client
) -> TelegramUser:
    """The Telegram user `init_data` proves; 401 if it proves nothing, 429 while locked out."""

    def verify() -> TelegramUser:
        try:
            return validate_init_data(init_data, bot_token=bot_token)
        except InitDataError as exc:
            raise ApiError("unauthorized", f"invalid Telegram init data: {exc}") from None

    return await guarded(guard, client, verify)


async def acting_user(
    db: Database,
    settings: Settings,
    *,
    init_data: str | None,
    user_id: int | None,
    guard: FailedAuthGuard,
    client: Client,
) -> dict[str, Any]:
    if settings.telegram_bot_token:
        if not init_data:
            raise ApiError("unauthorized", f"{INIT_DATA_HEADER} header is required")
        telegram_user = await proven_telegram_user(
            init_data, bot_token=settings.telegram_bot_token, guard=guard, client=client
        )
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


async def reader_id(
    db: Database,
    settings: Settings,
    *,
    init_data: str | None,
    guard: FailedAuthGuard,
    client: Client,
) -> int | None:
    """Whose rows a read by id may return (digests, digest jobs): None for anyone's.

    With a bot token, only the proven user's own (401 and 403 as for any user-scoped
    request); rows of another user or of nobody (`user_id` null) are not found. Without
    one (development) any row, as `user_id` is trusted elsewhere.
    """
    if not settings.telegram_bot_token:
        return None
    user = await acting_user(
        db, settings, init_data=init_data, user_id=None, guard=guard, client=client
    )
    return int(user["id"])
