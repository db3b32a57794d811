"""Request rules for a user's digest preferences."""

from __future__ import annotations

import re
import zoneinfo
from functools import cache
from typing import Annotated

from pydantic import AfterValidator, BaseModel, StrictStr

from shared.contracts.digest import Audience, Length, Style, Tone
from shared.contracts.documented import matching, one_of
from shared.contracts.users import LanguageCode

_CLOCK = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]")


def _clock_time(value: str) -> str:
    if not _CLOCK.fullmatch(value):
        raise ValueError("must be a time of day as HH:MM, 00:00 to 23:59")
    return value


# Files some systems' zoneinfo directories hold that name no time zone.
_NOT_ZONES = frozenset({"localtime", "Factory", "posixrules"})


@cache
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones()) - _NOT_ZONES


def _time_zone(value: str) -> str:
    if value not in _time_zones():
        raise ValueError("must be an IANA time zone name such as Europe/Berlin")
    return value


ClockTime = Annotated[StrictStr, AfterValidator(_clock_time), matching(f"^{_CLOCK.pattern}$")]
TimeZoneName = Annotated[StrictStr, AfterValidator(_time_zone), one_of(sorted(_time_zones()))]


class PreferencesUpdate(BaseModel):
    """Every field optional; `null` clears a field back to its default."""

    style: Style | None = None
    tone: Tone | None = None
    length: Length | None = None
    audience: Audience | None = None
    language: LanguageCode | None = None
    notify_time: ClockTime | None = None
    timezone: TimeZoneName | None = None

    def changes(self) -> dict[str, str | None]:
        """Only the fields the request named, with their new values."""
        return self.model_dump(include=self.model_fields_set)
