"""Prometheus exposition (`/metrics`) for every worker of the host, and the figures the
dashboard reads from it.

`python -m gateway serve` runs prometheus-client's multiprocess mode: it points
`PROMETHEUS_MULTIPROC_DIR` at a fresh directory before any worker starts, every worker
writes its samples there (one small mmap file per worker and kind), and whichever worker
answers a scrape or the dashboard merges all of them. Without that variable (tests, which
run several gateways in one process) each gateway keeps its own registry.
"""

from __future__ import annotations

import bisect
import glob
import logging
import os
from collections import Counter as Tally
from collections.abc import Callable, Iterable

from prometheus_client import CONTENT_TYPE_LATEST as PROMETHEUS_CONTENT_TYPE
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, values
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

__all__ = ["GatewayMetrics", "PROMETHEUS_CONTENT_TYPE"]

log = logging.getLogger("gateway.metrics")

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


def host_metrics_dir() -> str | None:
    """The directory every worker of this host writes its samples to, when the process
    runs in prometheus-client's multiprocess mode (chosen when that library is imported)."""
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not path:
        return None
    if not getattr(values.ValueClass, "_multiprocess", False):
        log.warning(
            "PROMETHEUS_MULTIPROC_DIR was set after prometheus_client was imported: "
            "/metrics shows this process only"
        )
        return None
    return path


class GatewayMetrics:
    """One registry per gateway; on a served host, one exposition for all its workers.

    Also a tally of shadow counts not yet written to the database (flushed every second
    by the watcher)."""

    def __init__(self) -> None:
        self.host_dir = host_metrics_dir()
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
        # Live gauges: summed (or maxed) over the workers alive now; a worker's file goes
        # when it exits (or, killed, at the next scrape).
        self.pool_in_use = Gauge(
            "gateway_db_pool_in_use",
            "Database connections checked out (all workers)",
            registry=r,
            multiprocess_mode="livesum",
        )
        self.manifest_info = Gauge(
            "gateway_manifest_info",
            "The manifest version each worker runs (1), with its pid on a served host",
            ["version"],
            registry=r,
            multiprocess_mode="liveall",
        )
        self.loop_lag = Histogram(
            "gateway_loop_lag_seconds",
            "How late the event loop ran a 20 ms heartbeat (time other callbacks held it)",
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
            registry=r,
        )
        self.loop_blocks = Counter(
            "gateway_loop_blocks_total",
            "Times one callback held the event loop beyond the threshold, by route",
            ["route"],
            registry=r,
        )
        self.pending: Tally[tuple[str, str]] = Tally()
        # Requests counted here and added to the Prometheus series once a second (and
        # before anything reads them, `refresh`): a counter, a histogram and their locks
        # (a file write each in multiprocess mode) per request cost more than the rest of
        # the gateway's bookkeeping together.
        self._unflushed: dict[tuple[str, str, int], _RequestTally] = {}
        self._checked_out: Callable[[], int] | None = None
        self._manifest_version: str | None = None

    def observe_request(self, route_id: str, side: str, status: int, seconds: float) -> None:
        key = (route_id, side, status)
        tally = self._unflushed.get(key)
        if tally is None:
            tally = self._unflushed[key] = _RequestTally()
        tally.count += 1
        tally.seconds += seconds
        tally.buckets[bisect.bisect_left(LATENCY_BUCKETS, seconds)] += 1

    def _flush_requests(self) -> None:
        unflushed, self._unflushed = self._unflushed, {}
        for (route_id, side, status), tally in unflushed.items():
            self.requests.labels(route_id, side, str(status)).inc(tally.count)
            if status >= 500:
                self.errors.labels(route_id, side).inc(tally.count)
            latency = self.latency.labels(route_id, side)
            # What `observe` does per sample, once per bucket: the histogram keeps one
            # value per bucket (not cumulative) and their sum.
            latency._sum.inc(tally.seconds)  # noqa: SLF001
            for index, count in enumerate(tally.buckets):
                if count:
                    latency._buckets[index].inc(count)  # noqa: SLF001

    def count(self, route_id: str, name: str, amount: int = 1) -> None:
        """A shadow count (`store.SHADOW_COUNTERS`) to add to the database's totals."""
        self.pending[(route_id, name)] += amount

    def take_pending(self) -> Tally[tuple[str, str]]:
        pending, self.pending = self.pending, Tally()
        return pending

    def watch_pool(self, checked_out: Callable[[], int]) -> None:
        self._checked_out = checked_out
        self.refresh()

    def refresh(self) -> None:
        """Add the requests counted since the last time to their series and sample this
        worker's gauges (each second, and before this worker answers a scrape or the
        dashboard: a gauge other workers read from a file cannot be a callback). On the
        loop, where requests are counted."""
        self._flush_requests()
        if self._checked_out is not None:
            self.pool_in_use.set(self._checked_out())

    def set_manifest(self, version: str) -> None:
        if version == self._manifest_version:
            return
        if self._manifest_version is not None:
            # A worker's file keeps every series it ever wrote: the old version reads 0.
            self.manifest_info.labels(self._manifest_version).set(0)
            self.manifest_info.remove(self._manifest_version)
        self.manifest_info.labels(version).set(1)
        self._manifest_version = version

    def host_registry(self) -> CollectorRegistry:
        """This gateway's registry, or on a served host one that merges every worker's file."""
        if self.host_dir is None:
            return self.registry
        _forget_dead_workers(self.host_dir)
        registry = CollectorRegistry(auto_describe=False)
        MultiProcessCollector(registry, path=self.host_dir)
        return registry

    def render(self) -> bytes:
        """The exposition (in a thread: merging the workers' files is file I/O); `refresh`
        first, on the loop."""
        return generate_latest(self.host_registry())

    def route_figures(self) -> dict[str, dict[str, int]]:
        """Requests and 5xx per side, and fallbacks, per route: every worker of the host
        (in a thread, as `render`; `refresh` first, on the loop)."""
        figures: dict[str, Tally[str]] = {}
        for sample in _samples(self.host_registry().collect()):
            name, labels = sample.name, sample.labels
            if name == "gateway_requests_total":
                key = f"requests_{labels['side']}"
            elif name == "gateway_errors_total":
                key = f"errors_{labels['side']}"
            elif name == "gateway_fallbacks_total":
                key = "fallbacks"
            else:
                continue
            figures.setdefault(labels["route"], Tally())[key] += int(sample.value)
        return {route_id: dict(tally) for route_id, tally in figures.items()}

    def workers(self) -> list[int]:
        """The pids whose figures `/metrics` and the dashboard's traffic columns cover."""
        if self.host_dir is None:
            return [os.getpid()]
        _forget_dead_workers(self.host_dir)
        return sorted(_pids(self.host_dir, "gauge_liveall_*.db"))

    def retire(self) -> None:
        """This worker is exiting: its live gauges leave the host's figures (its counters
        stay, so the host's totals never go down)."""
        self._flush_requests()
        if self.host_dir is not None:
            mark_process_dead(os.getpid(), self.host_dir)


class _RequestTally:
    """One route, side and status: requests, their seconds, and how many per latency
    bucket (the last one past the largest bound)."""

    __slots__ = ("count", "seconds", "buckets")

    def __init__(self) -> None:
        self.count = 0
        self.seconds = 0.0
        self.buckets = [0] * (len(LATENCY_BUCKETS) + 1)


def _samples(metrics: Iterable) -> Iterable:
    for metric in metrics:
        yield from metric.samples


def _forget_dead_workers(path: str) -> None:
    """A worker killed without its shutdown (SIGKILL, OOM) leaves its live gauges behind."""
    for pid in _pids(path, "gauge_live*_*.db"):
        if not _alive(pid):
            mark_process_dead(pid, path)


def _pids(path: str, pattern: str) -> set[int]:
    return {
        int(file.rsplit("_", 1)[1].removesuffix(".db"))
        for file in glob.glob(os.path.join(path, pattern))
    }


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process with that pid: it is alive
        return True
    return True
