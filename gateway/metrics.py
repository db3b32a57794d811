"""Prometheus exposition (`/metrics`) and the counters the gateway shares through the DB."""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Callable

from prometheus_client import CONTENT_TYPE_LATEST as PROMETHEUS_CONTENT_TYPE
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

__all__ = ["GatewayMetrics", "PROMETHEUS_CONTENT_TYPE"]

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class GatewayMetrics:
    """One registry per gateway (so tests can run several), plus a tally of counter
    increments not yet written to the database (flushed every few seconds)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "gateway_requests_total",
            "Requests by route and side",
            ["route", "side", "code"],
            registry=r,
        )
        self.errors = Counter(
            "gateway_errors_total", "5xx answers by route and side", ["route", "side"], registry=r
        )
        self.latency = Histogram(
            "gateway_request_duration_seconds",
            "Time to the end of the response, by route and side",
            ["route", "side"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.shadow_comparisons = Counter(
            "gateway_shadow_comparisons_total", "Shadow comparisons", ["route"], registry=r
        )
        self.shadow_mismatches = Counter(
            "gateway_shadow_mismatches_total",
            "Shadow comparisons that differed (kind: mismatch, noise, error)",
            ["route", "kind"],
            registry=r,
        )
        self.shadow_skipped = Counter(
            "gateway_shadow_skipped_total", "Shadow calls skipped at the cap", ["route"], registry=r
        )
        self.fallbacks = Counter(
            "gateway_fallbacks_total",
            "Async answers replaced by Flask",
            ["route", "reason"],
            registry=r,
        )
        self.rollbacks = Counter(
            "gateway_rollbacks_total", "Automatic rollbacks to legacy", ["route"], registry=r
        )
        self.bridge_wait = Histogram(
            "gateway_bridge_wait_seconds",
            "How long legacy views waited on the shared loop per DB call",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.pool_in_use = Gauge(
            "gateway_db_pool_in_use", "Database connections checked out", registry=r
        )
        self.manifest_info = Gauge(
            "gateway_manifest_info", "The live manifest version", ["version"], registry=r
        )
        self.pending: Tally[tuple[str, str]] = Tally()
        self._children: dict[tuple[str, str, str], tuple] = {}

    def observe_request(self, route_id: str, side: str, status: int, seconds: float) -> None:
        key = (route_id, side, str(status))
        children = self._children.get(key)
        if children is None:
            children = (
                self.requests.labels(route_id, side, str(status)),
                self.latency.labels(route_id, side),
                self.errors.labels(route_id, side),
            )
            self._children[key] = children
        requests, latency, errors = children
        requests.inc()
        latency.observe(seconds)
        self.pending[(route_id, f"requests_{side}")] += 1
        if status >= 500:
            errors.inc()
            self.pending[(route_id, f"errors_{side}")] += 1

    def count(self, route_id: str, name: str, amount: int = 1) -> None:
        self.pending[(route_id, name)] += amount

    def take_pending(self) -> Tally[tuple[str, str]]:
        pending, self.pending = self.pending, Tally()
        return pending

    def watch_pool(self, checked_out: Callable[[], int]) -> None:
        self.pool_in_use.set_function(checked_out)

    def set_manifest(self, version: str) -> None:
        self.manifest_info.clear()
        self.manifest_info.labels(version).set(1)

    def render(self) -> bytes:
        return generate_latest(self.registry)
