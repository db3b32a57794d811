"""Request rules for the news endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    StrictInt,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from shared import categories
from shared.contracts.common import (
    CategoryName,
    Limit,
    Offset,
    StrictUserId,
    Timestamp,
    WholeNumber,
)
from shared.contracts.documented import KNOWN_CATEGORY_NAMES, TWO_VISIBLE, comma_list, one_of


def category_names(value: str) -> list[str]:
    """`crypto, ai` -> `["crypto", "ai"]`: a comma list, each name trimmed, no repeats."""
    return list(dict.fromkeys(part.strip() for part in value.split(",")))


def _known_category_list(value: str) -> str:
    if not all(categories.is_known(name) for name in category_names(value)):
        raise ValueError("must be known categories or subcategories, separated by commas")
    return value


class LatestNewsQuery(BaseModel):
    category: CategoryName | None = None
    limit: Limit = 20


class NewsPageQuery(BaseModel):
    """`limit` and `offset` of the list endpoints under /api/news."""

    limit: Limit = 20
    offset: Offset = 0


class NewsListQuery(BaseModel):
    # A plain string to both halves (the async half would read a `list` field from
    # repeated parameters); `categories` gives the names.
    category: (
        Annotated[
            str,
            AfterValidator(_known_category_list),
            comma_list({"type": "string", "enum": KNOWN_CATEGORY_NAMES}),
        ]
        | None
    ) = None
    source: Annotated[str, StringConstraints(min_length=1, max_length=120)] | None = None
    since: Timestamp | None = None
    until: Timestamp | None = Field(None, description="Later than `since`")
    order: Literal["published_at", "importance"] = "published_at"
    limit: Limit = 20
    offset: Offset = 0

    @field_validator("until")
    @classmethod
    def _until_after_since(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        since = info.data.get("since")
        if value is not None and since is not None and value <= since:
            raise ValueError("must be after since")
        return value

    @property
    def categories(self) -> list[str] | None:
        return category_names(self.category) if self.category else None


class NewsSearchQuery(BaseModel):
    q: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=2, max_length=100), TWO_VISIBLE
    ]
    limit: Limit = 20
    offset: Offset = 0


class TrendingNewsQuery(BaseModel):
    hours: Annotated[int, Field(ge=1, le=168, description="The window, in hours")] = 24
    limit: Limit = 20
    offset: Offset = 0


def _vote(value: int) -> int:
    if value not in (1, -1):
        raise ValueError("must be 1 or -1")
    return value


class NewsFeedback(BaseModel):
    user_id: StrictUserId | None = None
    value: Annotated[StrictInt, AfterValidator(_vote), one_of([1, -1]), WholeNumber]
