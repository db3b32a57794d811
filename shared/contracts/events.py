"""Request rules for the events calendar."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StrictStr,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from shared.contracts.common import (
    PageQuery,
    RowId,
    StoredTimestamp,
    Timestamp,
    TopCategory,
    _top_level_category,
)
from shared.contracts.documented import NOT_BLANK, TOP_CATEGORY, TWO_VISIBLE, matching, not_null
from shared.errors import message

# events.id is a 32-bit integer on PostgreSQL: a larger id is a 400, not a database error.
_MONTH = re.compile(r"\d{4}-\d{2}")


def _iso_timestamp(value: Any) -> datetime:
    # Only ISO-8601 text: pydantic's lax datetime would also take numbers as Unix time.
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(message("datetime"))


def _whole_seconds(value: datetime) -> datetime:
    return value.replace(microsecond=0)  # what is stored is what every answer shows


def _month(value: str) -> str:
    if _MONTH.fullmatch(value):
        try:
            datetime.strptime(value, "%Y-%m")
            return value
        except ValueError:
            pass
    raise ValueError("must be written YYYY-MM")


# A timestamp in a JSON body: ISO-8601 text in the stored years, as naive UTC, whole seconds.
BodyTimestamp = Annotated[
    StoredTimestamp,
    BeforeValidator(_iso_timestamp),
    AfterValidator(_whole_seconds),
]
Title = Annotated[
    StrictStr, StringConstraints(strip_whitespace=True, min_length=1, max_length=300), NOT_BLANK
]
Location = Annotated[StrictStr, StringConstraints(strip_whitespace=True, max_length=200)]
Description = Annotated[StrictStr, StringConstraints(max_length=5000)]
Importance = Annotated[float, Strict(), Field(ge=0, le=1)]
EventCategory = Annotated[StrictStr, AfterValidator(_top_level_category), TOP_CATEGORY]
# Years 0001 to 9999: what `datetime.strptime("%Y-%m")` reads.
_MONTH_PATTERN = r"^(000[1-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-9][0-9]{3})-(0[1-9]|1[0-2])$"


class EventPath(BaseModel):
    event_id: RowId


class EventListQuery(PageQuery):
    """Events start in [`from`, `to`): `from` inclusive, `to` exclusive."""

    category: TopCategory | None = None
    starts_from: Timestamp | None = Field(None, alias="from")
    starts_to: Timestamp | None = Field(None, alias="to", description="Not earlier than `from`")
    importance_min: Annotated[float, Field(ge=0, le=1)] | None = None

    @field_validator("starts_to")
    @classmethod
    def _to_after_from(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        start = info.data.get("starts_from")
        if value is not None and start is not None and value < start:
            raise ValueError("must not be earlier than from")
        return value


class UpcomingQuery(PageQuery):
    days: Annotated[int, Field(ge=1, le=90)] = 7


class CalendarQuery(BaseModel):
    month: Annotated[str, AfterValidator(_month), matching(_MONTH_PATTERN)]


class EventSearchQuery(PageQuery):
    q: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=2, max_length=100), TWO_VISIBLE
    ]


class EventStreamQuery(BaseModel):
    """`since`: replay rows changed at or after it (a `Last-Event-ID` header wins)."""

    since: Timestamp | None = None


class EventCreate(BaseModel):
    title: Title
    category: EventCategory
    starts_at: BodyTimestamp
    ends_at: BodyTimestamp | None = Field(None, description="Not earlier than `starts_at`")
    location: Location | None = None
    description: Description = ""
    importance: Importance = 0.5


_SPAN = "`ends_at` is not earlier than `starts_at`, either taken from the stored event if not sent"


class EventUpdate(BaseModel):
    """Only the fields sent change; `ends_at` and `location` may be set to null."""

    model_config = ConfigDict(
        json_schema_extra=not_null("title", "category", "starts_at", "description", "importance")
    )

    title: Title | None = None
    category: EventCategory | None = None
    starts_at: BodyTimestamp | None = Field(None, description=_SPAN)
    ends_at: BodyTimestamp | None = Field(None, description=_SPAN)
    location: Location | None = None
    description: Description | None = None
    importance: Importance | None = None

    @field_validator("title", "category", "starts_at", "description", "importance")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:  # only a sent null reaches here: an omitted field is not validated
            raise ValueError("must not be null")
        return value

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)
