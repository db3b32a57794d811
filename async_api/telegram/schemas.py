from __future__ import annotations

from pydantic import BaseModel


class WebhookResponse(BaseModel):
    ok: bool
    user_id: int | None
