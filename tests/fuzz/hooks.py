"""Schemathesis hooks for tests/fuzz (loaded through SCHEMATHESIS_HOOKS).

JSON Schema cannot compare two values, so the orders below live in the fields'
descriptions and in the validators; generated requests that break them are not sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import schemathesis

# (operation, earlier, later, may they be equal)
ORDERED = [
    ("GET /api/news", "since", "until", False),
    ("GET /api/events/", "from", "to", True),
    ("POST /api/events", "starts_at", "ends_at", True),
    ("PUT /api/events/{event_id}", "starts_at", "ends_at", True),
]


def _instant(value: Any) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def in_order(operation: str, values: Any) -> bool:
    if not isinstance(values, Mapping):
        return True
    for label, earlier, later, equal in ORDERED:
        if label != operation:
            continue
        if label.startswith("PUT") and (earlier in values) != (values.get(later) is not None):
            return False  # one end of a span alone is checked against the stored row
        start, end = _instant(values.get(earlier)), _instant(values.get(later))
        if start and end and (end < start or (end == start and not equal)):
            return False
    return True


@schemathesis.hook
def filter_case(ctx: Any, case: Any) -> bool:
    label = case.operation.label
    return in_order(label, case.query) and in_order(label, case.body)
