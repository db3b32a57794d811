"""The Telegram webhook: a WebApp launch or a Bot API Update, turned into a user."""

from __future__ import annotations

from shared.contracts.telegram import TelegramWebhook
from shared.database.engine import Database
from shared.database.queries.users import get_or_create_user, user_by_telegram_id
from shared.errors import invalid, message

WEBHOOK_SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


async def handle_webhook(db: Database, *, payload: TelegramWebhook) -> int | None:
    """The id of the user the webhook is about (created on launch or `/start`), if known."""
    if payload.telegram_id is not None:
        user, _ = await get_or_create_user(
            db, telegram_id=payload.telegram_id, username=payload.username
        )
        return user["id"]
    sender = payload.message.sender if payload.message else None
    if sender is None:
        raise invalid("telegram_id", message("missing"))
    text = (payload.message.text or "") if payload.message else ""
    if text.split(maxsplit=1)[:1] == ["/start"]:
        user, _ = await get_or_create_user(
            db, telegram_id=sender.id, username=sender.username, language=sender.language_code
        )
        return user["id"]
    existing = await user_by_telegram_id(db, telegram_id=sender.id)
    return existing["id"] if existing else None
