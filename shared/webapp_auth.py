"""Signing in to the Telegram WebApp: initData proves the user, who is found or created."""

from __future__ import annotations

from typing import Any

from shared.contracts.users import MAX_TELEGRAM_ID
from shared.database.engine import Database
from shared.database.queries.users import get_or_create_user, user_by_telegram_id
from shared.errors import ApiError
from shared.identity import proven_telegram_user
from shared.rate_limit import Client, FailedAuthGuard
from shared.users import BLOCKED

LOGIN_NOT_CONFIGURED = "Telegram login is not configured"
# The users columns' sizes: signed data that does not fit is cut (or dropped), never a 500.
_USERNAME_LENGTH = 100
_LANGUAGE_LENGTH = 10


def _column_text(value: object, length: int) -> str | None:
    if not isinstance(value, str):
        return None
    return value[:length] or None


async def sign_in(
    db: Database,
    *,
    init_data: str,
    bot_token: str | None,
    guard: FailedAuthGuard,
    client: Client,
) -> dict[str, Any]:
    """The user row of the Telegram user `init_data` proves, created on first sign-in.

    Without a bot token nothing can be proven: 503, never a sign-in on trust.
    """
    if not bot_token:
        raise ApiError("unavailable", LOGIN_NOT_CONFIGURED)
    telegram_user = await proven_telegram_user(
        init_data, bot_token=bot_token, guard=guard, client=client
    )
    if not 0 < telegram_user.id <= MAX_TELEGRAM_ID:
        raise ApiError("unauthorized", "invalid Telegram init data: user id is out of range")
    existing = await user_by_telegram_id(db, telegram_id=telegram_user.id)
    # Refused before any write: a blocked user's sign-in attempt does not count as a visit.
    if existing is not None and existing["is_blocked"]:
        raise ApiError("forbidden", BLOCKED)
    user, _ = await get_or_create_user(
        db,
        telegram_id=telegram_user.id,
        username=_column_text(telegram_user.username, _USERNAME_LENGTH),
        language=_column_text(telegram_user.language_code, _LANGUAGE_LENGTH),
    )
    return user
