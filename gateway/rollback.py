"""Automatic rollback: an async route whose error rate passes its threshold over a sliding
window goes back to Flask until an engineer acts (Flagger's metric-driven rollback)."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass

from gateway.manifest import RouteEntry


@dataclass(frozen=True)
class RollbackVerdict:
    route_id: str
    reason: str


class ErrorWindow:
    """Per route: the async side's recent outcomes, within the entry's window."""

    def __init__(self) -> None:
        self._outcomes: dict[str, deque[tuple[float, bool]]] = {}

    def observe(
        self, entry: RouteEntry, *, error: bool, now: float | None = None
    ) -> RollbackVerdict | None:
        rules = entry.rollback
        if not rules.enabled:
            return None
        now = time.monotonic() if now is None else now
        outcomes = self._outcomes.setdefault(entry.id, deque())
        outcomes.append((now, error))
        horizon = now - rules.window_seconds
        while outcomes and outcomes[0][0] < horizon:
            outcomes.popleft()
        if not error or len(outcomes) < rules.min_requests:
            return None
        total = len(outcomes)
        errors = sum(1 for _, failed in outcomes if failed)
        rate = errors / total
        if rate <= rules.error_rate:
            return None
        outcomes.clear()  # one verdict per breach
        return RollbackVerdict(
            entry.id,
            f"async error rate {rate:.0%} ({errors} of {total} requests in "
            f"{rules.window_seconds:g}s) is over the {rules.error_rate:.0%} threshold",
        )

    def forget(self, route_id: str) -> None:
        self._outcomes.pop(route_id, None)
