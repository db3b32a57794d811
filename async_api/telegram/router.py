from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Header

from async_api.deps import RuntimeDep
from async_api.errors import error_responses
from async_api.telegram.schemas import WebhookResponse
from shared.contracts.telegram import TelegramWebhook
from shared.errors import ApiError
from shared.telegram_webhook import WEBHOOK_SECRET_HEADER, handle_webhook

router = APIRouter(tags=["telegram"])


def _check_secret(configured: str | None, given: str | None) -> None:
    if configured and not hmac.compare_digest((given or "").encode(), configured.encode()):
        raise ApiError("unauthorized", "the webhook secret token is missing or wrong")


@router.post(
    "/api/telegram/webhook",
    name="api.telegram_webhook",
    response_model=WebhookResponse,
    responses=error_responses(400, 401, 503),
)
async def telegram_webhook(
    rt: RuntimeDep,
    payload: TelegramWebhook,
    secret: Annotated[str | None, Header(alias=WEBHOOK_SECRET_HEADER)] = None,
) -> WebhookResponse:
    _check_secret(rt.settings.telegram_webhook_secret, secret)
    return WebhookResponse(ok=True, user_id=await handle_webhook(rt.db, payload=payload))
