"""Request rules for category subscriptions."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, StrictStr
from pydantic.functional_validators import AfterValidator

from shared.contracts.common import StrictUserId, UserId, _top_level_category
from shared.contracts.documented import TOP_CATEGORY


class UserQuery(BaseModel):
    """`user_id` in the query string (optional when Telegram initData identifies the user)."""

    user_id: UserId | None = None


class SubscriptionUpdate(BaseModel):
    user_id: StrictUserId | None = None
    category: Annotated[StrictStr, AfterValidator(_top_level_category), TOP_CATEGORY]
    action: Literal["subscribe", "unsubscribe"]


class SubscriptionPath(BaseModel):
    category: Annotated[str, AfterValidator(_top_level_category), TOP_CATEGORY]
