"""Field types the catalogue uses everywhere."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, StrictInt

from shared import categories
from shared.contracts.documented import KNOWN_CATEGORY, TOP_CATEGORY
from shared.database.schema import MAX_ID
from shared.errors import message

Limit = Annotated[int, Field(ge=1, le=100, description="Page size, 1..100")]
Offset = Annotated[int, Field(ge=0, le=MAX_ID, description="Rows to skip")]
RowId = Annotated[int, Field(ge=1, le=MAX_ID)]


def _whole_number(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


# For an integer in a JSON body (StrictInt: never a string or a boolean), last in its
# `Annotated`: 49.0 is 49, as JSON Schema's `integer` (and so the OpenAPI) says.
WholeNumber = BeforeValidator(_whole_number)
StrictRowId = Annotated[StrictInt, Field(ge=1, le=MAX_ID), WholeNumber]
UserId = Annotated[int, Field(ge=1, le=MAX_ID, description="The user's id (users.id)")]
StrictUserId = Annotated[
    StrictInt, Field(ge=1, le=MAX_ID, description="The user's id (users.id)"), WholeNumber
]


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
        try:
            value = value.astimezone(UTC).replace(tzinfo=None)
        except OverflowError:  # 0001-01-01T00:00:00+01:00 is before the calendar's start
            raise ValueError(message("datetime")) from None
    return value


# What a write may store: years every page and answer render alike (and no feed's 0001
# or 9999 placeholder). The year is checked as written, before the conversion to UTC.
STORED_YEARS = (1970, 2100)
STORED_YEARS_MESSAGE = f"must be a timestamp in the years {STORED_YEARS[0]} to {STORED_YEARS[1]}"
_STORED_TIMESTAMP_PATTERN = (
    r"^(19[7-9][0-9]|20[0-9][0-9]|2100)-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    r"T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,6})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$"
)


def in_stored_years(value: datetime) -> bool:
    return STORED_YEARS[0] <= value.year <= STORED_YEARS[1]


def _stored_years(value: datetime) -> datetime:
    if not in_stored_years(value):
        raise ValueError(STORED_YEARS_MESSAGE)
    return value


# An ISO-8601 timestamp; with an offset it is converted to UTC, without one it is UTC.
Timestamp = Annotated[datetime, AfterValidator(_naive_utc)]
# A timestamp a write stores: a Timestamp in STORED_YEARS (the pattern says so in the OpenAPI).
StoredTimestamp = Annotated[
    datetime,
    AfterValidator(_stored_years),
    AfterValidator(_naive_utc),
    Field(json_schema_extra={"pattern": _STORED_TIMESTAMP_PATTERN}),
]
CategoryName = Annotated[str, AfterValidator(_known_category), KNOWN_CATEGORY]
TopCategory = Annotated[str, AfterValidator(_top_level_category), TOP_CATEGORY]


class PageQuery(BaseModel):
    """`limit` (1..100, default 20) and `offset` (>= 0, default 0)."""

    limit: Limit = 20
    offset: Offset = 0


def page(items: list[Any], *, total: int, limit: int, offset: int) -> dict[str, Any]:
    """The catalogue's list response."""
    return {"items": items, "total": total, "limit": limit, "offset": offset}
