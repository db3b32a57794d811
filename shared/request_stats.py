"""Per-process request figures (what `/api/metrics` reports), recorded by the gateway."""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from statistics import quantiles
from typing import Any

LATENCY_SAMPLES = 1000  # per route and side: enough for p95, bounded memory


@dataclass
class RouteFigures:
    requests: int = 0
    errors: int = 0
    latencies: deque[float] = field(default_factory=lambda: deque(maxlen=LATENCY_SAMPLES))

    def percentiles(self) -> tuple[float | None, float | None]:
        samples = sorted(self.latencies)
        if not samples:
            return None, None
        if len(samples) == 1:
            return samples[0], samples[0]
        cuts = quantiles(samples, n=100, method="inclusive")
        return cuts[49], cuts[94]


class RequestStats:
    def __init__(self) -> None:
        self.started_at = time.time()
        self._lock = threading.Lock()
        self._routes: dict[tuple[str, str], RouteFigures] = {}

    def record(self, route_id: str, side: str, status: int, seconds: float) -> None:
        with self._lock:
            figures = self._routes.get((route_id, side))
            if figures is None:  # not `setdefault`: that builds a RouteFigures per request
                figures = self._routes[(route_id, side)] = RouteFigures()
            figures.requests += 1
            if status >= 500:
                figures.errors += 1
            figures.latencies.append(seconds)

    def totals(self) -> dict[str, int]:
        with self._lock:
            return {
                "requests": sum(f.requests for f in self._routes.values()),
                "errors": sum(f.errors for f in self._routes.values()),
            }

    def by_route(self) -> list[dict[str, Any]]:
        with self._lock:
            snapshot = {
                key: (f.requests, f.errors, list(f.latencies)) for key, f in self._routes.items()
            }
        rows = []
        for (route_id, side), (requests, errors, latencies) in sorted(snapshot.items()):
            figures = RouteFigures(requests, errors, deque(latencies))
            p50, p95 = figures.percentiles()
            rows.append(
                {
                    "route_id": route_id,
                    "side": side,
                    "requests": requests,
                    "errors": errors,
                    "p50_ms": None if p50 is None else round(p50 * 1000, 2),
                    "p95_ms": None if p95 is None else round(p95 * 1000, 2),
                }
            )
        return rows
