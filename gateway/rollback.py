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


BUCKETS_PER_WINDOW = 20  # the window slides in twentieths of itself (3 s of 60 s)


class _Bucket:
    """The answers of one twentieth of a window: how many, how many failed, from whom."""

    __slots__ = ("start", "requests", "failures", "clients")

    def __init__(self, start: float) -> None:
        self.start = start
        self.requests = 0
        self.failures = 0
        self.clients: set[str] = set()


class ErrorWindow:
    """Per route and side: the recent answers, counted in buckets of a twentieth of the
    entry's window (a rolling window, as circuit breakers keep one: its memory grows with
    the window's buckets, not with the requests in it)."""

    def __init__(self) -> None:
        self._buckets: dict[tuple[str, str], deque[_Bucket]] = {}

    def _window(self, route_id: str, side: str, horizon: float, width: float) -> deque[_Bucket]:
        buckets = self._buckets.get((route_id, side))
        if buckets is None:
            buckets = self._buckets[(route_id, side)] = deque()
        while buckets and buckets[0].start + width <= horizon:  # wholly before the window
            buckets.popleft()
        return buckets

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
        width = rules.window_seconds / BUCKETS_PER_WINDOW
        horizon = now - rules.window_seconds
        buckets = self._window(entry.id, side, horizon, width)
        if not buckets or now >= buckets[-1].start + width:
            buckets.append(_Bucket(now))
        bucket = buckets[-1]
        bucket.requests += 1
        bucket.failures += failed
        bucket.clients.add(client)
        if side != "async" or not failed:
            return None
        total = sum(b.requests for b in buckets)
        if total < rules.min_requests:
            return None
        clients = set().union(*(b.clients for b in buckets))
        if len(clients) < rules.min_clients:
            return None
        errors = sum(b.failures for b in buckets)
        rate = errors / total
        legacy = self._window(entry.id, "legacy", horizon, width)
        legacy_total = sum(b.requests for b in legacy)
        legacy_rate = (
            sum(b.failures for b in legacy) / legacy_total
            if legacy_total >= rules.min_requests
            else 0.0
        )
        if rate - legacy_rate <= rules.error_rate:
            return None
        buckets.clear()  # one verdict per breach
        compared = (
            f", legacy {legacy_rate:.0%} of {legacy_total}"
            if legacy_total >= rules.min_requests
            else ""
        )
        return RollbackVerdict(
            entry.id,
            f"async error rate {rate:.0%} ({errors} of {total} requests from {len(clients)} "
            f"clients in {rules.window_seconds:g}s{compared}) is over the "
            f"{rules.error_rate:.0%} threshold",
        )

    def forget(self, route_id: str) -> None:
        for key in [key for key in self._buckets if key[0] == route_id]:
            self._buckets.pop(key, None)
