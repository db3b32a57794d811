"""Turning database values into the catalogue's JSON values."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

_clock: Callable[[], datetime] | None = None  # None: the wall clock (see `set_clock`)


def iso(value: datetime | str | None) -> str | None:
    """ISO-8601 UTC with a `Z`, to the second, always a four-digit year:
    `2025-01-18T10:00:00Z`, and `0866-12-10T09:53:32Z` for a row written before the
    writes were checked (strftime's `%Y` would give `866`)."""
    if value is None:
        return None
    if isinstance(value, str):  # SQLite hands back text for some expressions
        value = datetime.fromisoformat(value)
    if value.tzinfo is not None:
        try:
            value = value.astimezone(UTC).replace(tzinfo=None)
        except OverflowError:  # year 1 or 9999 shifted past the calendar's end
            value = datetime.min if value.year == datetime.min.year else datetime.max
    return value.replace(microsecond=0).isoformat() + "Z"


def utcnow() -> datetime:
    """Naive UTC, as the schema stores it: the one clock both halves read "now" from."""
    if _clock is not None:
        return _clock()
    return datetime.now(UTC).replace(tzinfo=None)


def set_clock(clock: Callable[[], datetime] | None) -> None:
    """Replace `utcnow`'s wall clock (None restores it). Only the parity replay does, so
    that each case finds the same "now" on both halves (see gateway/parity.py)."""
    global _clock
    _clock = clock


def json_object(value: Any) -> dict[str, Any]:
    """A JSON column that should hold an object; anything else stored there reads as `{}`."""
    return dict(value) if isinstance(value, dict) else {}


def json_list(value: Any) -> list[Any]:
    """A JSON column that should hold a list; anything else stored there reads as `[]`."""
    return list(value) if isinstance(value, list) else []


def fraction(value: float | None) -> float:
    """A score the catalogue keeps in 0..1 (importance), whatever the row holds: JSON has no
    infinity or NaN, and a client may trust the range."""
    if value is None or math.isnan(value):
        return 0.0
    return min(max(float(value), 0.0), 1.0)
