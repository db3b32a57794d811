"""Field types the catalogue uses everywhere."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field, StrictInt

from shared import categories
from shared.database.schema import MAX_ID

Limit = Annotated[int, Field(ge=1, le=100, description="Page size, 1..100")]
Offset = Annotated[int, Field(ge=0, le=MAX_ID, description="Rows to skip")]
RowId = Annotated[int, Field(ge=1, le=MAX_ID)]
StrictRowId = Annotated[StrictInt, Field(ge=1, le=MAX_ID)]
UserId = Annotated[int, Field(ge=1, le=MAX_ID, description="The user's id (users.id)")]
StrictUserId = Annotated[StrictInt, Field(ge=1, le=MAX_ID, description="The user's id (users.id)")]


def _known_category(value: str) -> str:
    if not categories.is_known(value):
        raise ValueError("must be a known category or subcategory")
    return value


def _top_level_category(value: str) -> str:
    if value not in categories.CATEGORY_TREE:
        raise ValueError("must be one of: " + ", ".join(categories.CATEGORIES))
    return value


def _naive_utc(value: datetime) -> datetime:
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


# An ISO-8601 timestamp; with an offset it is converted to UTC, without one it is UTC.
Timestamp = Annotated[datetime, AfterValidator(_naive_utc)]
CategoryName = Annotated[str, AfterValidator(_known_category)]
TopCategory = Annotated[str, AfterValidator(_top_level_category)]


class PageQuery(BaseModel):
    """`limit` (1..100, default 20) and `offset` (>= 0, default 0)."""

    limit: Limit = 20
    offset: Offset = 0


def page(items: list[Any], *, total: int, limit: int, offset: int) -> dict[str, Any]:
    """The catalogue's list response."""
    return {"items": items, "total": total, "limit": limit, "offset": offset}
