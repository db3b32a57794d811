"""Request rules for the Telegram webhook: a WebApp launch or a Bot API Update."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr


class TelegramFrom(BaseModel):
    id: StrictInt
    username: StrictStr | None = None
    language_code: StrictStr | None = None


class TelegramMessage(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    sender: TelegramFrom | None = Field(None, alias="from")
    text: StrictStr | None = None


class TelegramWebhook(BaseModel):
    telegram_id: StrictInt | None = Field(None, ge=1)
    username: StrictStr | None = Field(None, max_length=100)
    update_id: StrictInt | None = None
    message: TelegramMessage | None = None
