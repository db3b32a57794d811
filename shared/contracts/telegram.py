"""Request rules for the Telegram webhook: a WebApp launch or a Bot API Update."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from shared.contracts.common import WholeNumber
from shared.contracts.users import MAX_TELEGRAM_ID

# The columns a webhook writes: users.telegram_id (BIGINT), username (100), language (10).
TelegramId = Annotated[StrictInt, Field(ge=1, le=MAX_TELEGRAM_ID), WholeNumber]
Username = Annotated[StrictStr, Field(max_length=100)]


class TelegramFrom(BaseModel):
    id: TelegramId
    username: Username | None = None
    language_code: Annotated[StrictStr, Field(max_length=10)] | None = None


class TelegramMessage(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    sender: TelegramFrom | None = Field(None, alias="from")
    text: StrictStr | None = None


def _launch_or_update(schema: dict[str, Any]) -> None:
    # Which user the webhook is about: a launch's telegram_id, or an Update's message.from.
    schema["anyOf"] = [
        {"required": ["telegram_id"], "properties": {"telegram_id": {"type": "integer"}}},
        {
            "required": ["message"],
            "properties": {
                "message": {
                    "type": "object",
                    "required": ["from"],
                    "properties": {"from": {"type": "object"}},
                }
            },
        },
    ]


class TelegramWebhook(BaseModel):
    model_config = ConfigDict(json_schema_extra=_launch_or_update)

    telegram_id: TelegramId | None = None
    username: Username | None = None
    update_id: Annotated[StrictInt, WholeNumber] | None = None
    message: TelegramMessage | None = None
