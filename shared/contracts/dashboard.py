"""Request rules for the dashboard endpoints."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from shared.contracts.common import PageQuery

DEFAULT_DAYS = 7


class DaysQuery(BaseModel):
    """`days` (1..90, default 7): the window a breakdown looks back over."""

    days: Annotated[int, Field(ge=1, le=90, description="Days to look back, 1..90")] = DEFAULT_DAYS


class ActivityQuery(PageQuery):
    """`limit` and `offset` over the analytics events, newest first."""
