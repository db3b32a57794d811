"""Request rules for the Telegram WebApp's pages and its two JSON endpoints."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, StrictStr

from shared.contracts.common import CategoryName, Limit, TopCategory, UserId

# Telegram's initData is a few hundred bytes; the cap only bounds the work of checking it.
MAX_INIT_DATA_LENGTH = 4096
# The shared `Offset` has no upper bound, and the drivers refuse an OFFSET past a 64-bit
# integer (a 500 instead of a 400).
FeedOffset = Annotated[int, Field(ge=0, le=2**63 - 1, description="Rows to skip")]


class NewsPageQuery(BaseModel):
    """`/webapp/news`: a category or a subcategory, as `/api/news/latest` takes it."""

    category: CategoryName | None = None


class EventsPageQuery(BaseModel):
    """`/webapp/events`: events carry a top-level category only."""

    category: TopCategory | None = None


class AuthRequest(BaseModel):
    init_data: Annotated[StrictStr, Field(max_length=MAX_INIT_DATA_LENGTH)]


class FeedQuery(BaseModel):
    """`user_id` first, then the page, so the first error reported is the same everywhere."""

    user_id: UserId | None = None
    limit: Limit = 20
    offset: FeedOffset = 0
