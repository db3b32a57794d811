"""Turning database values into the catalogue's JSON values."""

from __future__ import annotations

from datetime import UTC, datetime


def iso(value: datetime | None) -> str | None:
    """ISO-8601 UTC with a `Z`, to the second: `2025-01-18T10:00:00Z`."""
    if value is None:
        return None
    if isinstance(value, str):  # SQLite hands back text for some expressions
        value = datetime.fromisoformat(value)
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def utcnow() -> datetime:
    """Naive UTC, as the schema stores it."""
    return datetime.now(UTC).replace(tzinfo=None)
