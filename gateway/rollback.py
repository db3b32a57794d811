"""Automatic rollback: an async route that fails more than its legacy half over a sliding
window goes back to Flask until an engineer acts (Flagger's metric-driven rollback, which
judges the canary against its primary).

Only the async half's own failures count: an unexpected 500 (an exception), a timeout or a
fallback. Designed answers — 4xx, 503 "not configured", 503 from a database outage, 502/504
from an upstream — fail both halves alike and say nothing about the new code, so no client
and no outage can move a route. A verdict also needs a minimum sample from a minimum number
of distinct clients, so one client replaying one bad request cannot either.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass

from gateway.manifest import RouteEntry

OWN_FAILURE_STATUSES = frozenset({500})  # what an exception becomes in either half


def is_own_failure(status: int, *, async_failed: bool = False) -> bool:
    """Whether an answer counts against the half that gave it."""
    return async_failed or status in OWN_FAILURE_STATUSES


@dataclass(frozen=True)
class RollbackVerdict:
    route_id: str
    reason: str


@dataclass
class _Outcome:
    at: float
    failed: bool
    client: str


class ErrorWindow:
    """Per route and side: the recent outcomes, within the entry's window."""

    def __init__(self) -> None:
        self._outcomes: dict[tuple[str, str], deque[_Outcome]] = {}

    def _window(self, route_id: str, side: str, horizon: float) -> deque[_Outcome]:
        outcomes = self._outcomes.setdefault((route_id, side), deque())
        while outcomes and outcomes[0].at < horizon:
            outcomes.popleft()
        return outcomes

    def observe(
        self,
        entry: RouteEntry,
        *,
        side: str,
        failed: bool,
        client: str = "",
        now: float | None = None,
    ) -> RollbackVerdict | None:
        """Record one answer of `side` ("async" or "legacy"); a verdict when the async half
        has crossed the line."""
        rules = entry.rollback
        if not rules.enabled:
            return None
        now = time.monotonic() if now is None else now
        horizon = now - rules.window_seconds
        outcomes = self._window(entry.id, side, horizon)
        outcomes.append(_Outcome(now, failed, client))
        if side != "async" or not failed or len(outcomes) < rules.min_requests:
            return None
        clients = {outcome.client for outcome in outcomes}
        if len(clients) < rules.min_clients:
            return None
        total = len(outcomes)
        errors = sum(1 for outcome in outcomes if outcome.failed)
        rate = errors / total
        legacy = self._window(entry.id, "legacy", horizon)
        legacy_rate = (
            sum(1 for outcome in legacy if outcome.failed) / len(legacy)
            if len(legacy) >= rules.min_requests
            else 0.0
        )
        if rate - legacy_rate <= rules.error_rate:
            return None
        outcomes.clear()  # one verdict per breach
        compared = (
            f", legacy {legacy_rate:.0%} of {len(legacy)}"
            if len(legacy) >= rules.min_requests
            else ""
        )
        return RollbackVerdict(
            entry.id,
            f"async error rate {rate:.0%} ({errors} of {total} requests from {len(clients)} "
            f"clients in {rules.window_seconds:g}s{compared}) is over the "
            f"{rules.error_rate:.0%} threshold",
        )

    def forget(self, route_id: str) -> None:
        for key in [key for key in self._outcomes if key[0] == route_id]:
            self._outcomes.pop(key, None)
