"""Request rules for the analytics endpoints."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field, StrictStr

from shared.contracts.common import PageQuery, StrictUserId, Timestamp, UserId
from shared.contracts.config import bounded_json
from shared.contracts.documented import comma_list, matching

EVENT_NAME = re.compile(r"[a-z0-9_.]{1,64}")
EVENT_NAME_RULE = "1 to 64 characters of a-z, 0-9, '_' and '.'"
MAX_PROPS_BYTES = 4096
FUNNEL_STEPS = (2, 6)
# users.id is a 32-bit integer on PostgreSQL: a larger id can name no one.


def _event_name(value: str) -> str:
    if not EVENT_NAME.fullmatch(value):
        raise ValueError(f"must be {EVENT_NAME_RULE}")
    return value


def _funnel_steps(value: str) -> str:
    names = value.split(",")
    low, high = FUNNEL_STEPS
    if not low <= len(names) <= high:
        raise ValueError(f"must list {low} to {high} comma-separated event names")
    if not all(EVENT_NAME.fullmatch(name) for name in names):
        raise ValueError(f"must be event names of {EVENT_NAME_RULE}, separated by commas")
    if len(set(names)) != len(names):
        raise ValueError("must not repeat an event name")
    return value


_EVENT_NAME_PATTERN = f"^{EVENT_NAME.pattern}$"
EventName = Annotated[str, AfterValidator(_event_name), matching(_EVENT_NAME_PATTERN)]
Days = Annotated[int, Field(ge=1, le=90, description="Days back from now, 1..90")]


class TrackEvent(BaseModel):
    event: Annotated[StrictStr, AfterValidator(_event_name), matching(_EVENT_NAME_PATTERN)]
    user_id: StrictUserId | None = None
    props: Annotated[dict[str, Any], AfterValidator(bounded_json(MAX_PROPS_BYTES))] | None = None


class EventsQuery(PageQuery):
    name: EventName | None = None
    since: Timestamp | None = None
    user_id: UserId | None = None


class DaysQuery(BaseModel):
    days: Days = 7


class ActivityPath(BaseModel):
    user_id: UserId


class FunnelQuery(BaseModel):
    steps: Annotated[
        str,
        AfterValidator(_funnel_steps),
        comma_list(
            {"type": "string", "pattern": _EVENT_NAME_PATTERN},
            min_items=FUNNEL_STEPS[0],
            max_items=FUNNEL_STEPS[1],
            unique=True,
        ),
    ]
    days: Days = 7

    def step_names(self) -> list[str]:
        return self.steps.split(",")
