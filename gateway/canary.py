"""Progressive canary: a route on `status: canary` with `canary: {steps: [5, 25, 50], …}`
sends `steps[i]`% of users to FastAPI for `interval_seconds` per step, then is judged on
the step's traffic from every worker and instance (Flagger's analysis):

- error rate: the async half's own failures (gateway/rollback.py: exceptions, timeouts,
  fallbacks) may exceed legacy's by at most `max_error_rate_delta`;
- latency: async p95 at most `max_p95_ratio` x legacy p95 (differences under
  `P95_SLACK_MS` never fail: bucket and timer resolution);
- parity, when `min_parity_rate` is set: the legacy share is shadowed and the share of
  comparisons without a real difference must reach it.

All gates hold -> the next step, or `async` after the last one. A failed gate -> legacy
(until the entry or an operator decision changes). Fewer than `min_requests` async answers
-> the step is held. Each decision is a conditional UPDATE on the run's row in the
database, so exactly one instance takes it; it is recorded with its figures.
"""

from __future__ import annotations

import bisect
import logging
import os
import socket
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from gateway import store
from gateway.manifest import CanaryRules, Manifest, RouteEntry
from shared.database.engine import Database
from shared.database.rows import iso, utcnow

if TYPE_CHECKING:
    from gateway.app import Gateway

log = logging.getLogger("gateway.canary")

# Upper bounds (ms) of the latency histogram each worker keeps per step; one more bucket
# holds everything slower. Summed across workers, then read like Prometheus'
# histogram_quantile (linear within the bucket).
BUCKETS_MS = (5, 10, 25, 50, 75, 100, 150, 250, 400, 600, 1000, 1500, 2500, 5000, 10000)
P95_SLACK_MS = 10.0
ACTOR = "canary"
RUNNING, PROMOTED, ROLLED_BACK = "running", "promoted", "rolled_back"


@dataclass
class Sample:
    """One side's figures in one step: what a worker saves and the decider sums."""

    requests: int = 0
    failures: int = 0
    latency_buckets: list[int] = field(default_factory=lambda: [0] * (len(BUCKETS_MS) + 1))
    comparisons: int = 0
    mismatches: int = 0

    def observe(self, *, failed: bool, seconds: float) -> None:
        self.requests += 1
        self.failures += failed
        self.latency_buckets[bisect.bisect_left(BUCKETS_MS, seconds * 1000)] += 1

    def add(self, other: dict[str, Any]) -> None:
        self.requests += other["requests"]
        self.failures += other["failures"]
        self.comparisons += other["comparisons"]
        self.mismatches += other["mismatches"]
        for index, count in enumerate(other["latency_buckets"][: len(self.latency_buckets)]):
            self.latency_buckets[index] += count

    def p95_ms(self) -> float | None:
        total = sum(self.latency_buckets)
        if not total:
            return None
        rank = 0.95 * total
        seen = 0
        for index, count in enumerate(self.latency_buckets):
            if count and seen + count >= rank:
                lower = BUCKETS_MS[index - 1] if index else 0.0
                upper = BUCKETS_MS[index] if index < len(BUCKETS_MS) else BUCKETS_MS[-1]
                return round(lower + (upper - lower) * (rank - seen) / count, 1)
            seen += count
        return float(BUCKETS_MS[-1])

    def error_rate(self) -> float | None:
        return self.failures / self.requests if self.requests else None

    def figures(self) -> dict[str, Any]:
        rate = self.error_rate()
        return {
            "requests": self.requests,
            "failures": self.failures,
            "error_rate": None if rate is None else round(rate, 4),
            "p95_ms": self.p95_ms(),
        }


@dataclass(frozen=True)
class Verdict:
    outcome: str  # hold | pass | fail
    reason: str
    figures: dict[str, Any]


def judge(rules: CanaryRules, step: int, legacy: Sample, candidate: Sample) -> Verdict:
    """The gates on one step's figures (`candidate` is the async side, which also carries
    the step's shadow comparisons)."""
    figures: dict[str, Any] = {
        "step": step + 1,
        "percent": rules.steps[step],
        "async": candidate.figures(),
        "legacy": legacy.figures(),
        "gates": {},
    }
    if candidate.requests < rules.min_requests:
        reason = f"{candidate.requests} of {rules.min_requests} async answers needed"
        return Verdict("hold", reason, figures)
    gates: dict[str, dict[str, Any]] = figures["gates"]
    failed: list[str] = []
    async_rate = candidate.error_rate() or 0.0
    baseline = legacy.requests >= rules.min_requests
    legacy_rate = (legacy.error_rate() or 0.0) if baseline else 0.0
    ok = async_rate - legacy_rate <= rules.max_error_rate_delta
    gates["error_rate"] = {"ok": ok, "limit": rules.max_error_rate_delta}
    if not ok:
        failed.append(
            f"async error rate {async_rate:.1%} vs legacy {legacy_rate:.1%}"
            f" (over +{rules.max_error_rate_delta:.1%})"
        )
    async_p95, legacy_p95 = candidate.p95_ms(), legacy.p95_ms()
    if baseline and async_p95 is not None and legacy_p95 is not None:
        ok = async_p95 <= rules.max_p95_ratio * legacy_p95 or async_p95 - legacy_p95 < P95_SLACK_MS
        gates["p95"] = {"ok": ok, "limit": rules.max_p95_ratio}
        if not ok:
            failed.append(
                f"async p95 {async_p95:g} ms over"
                f" {rules.max_p95_ratio:g} x legacy {legacy_p95:g} ms"
            )
    else:
        gates["p95"] = {"ok": None, "skipped": "too few legacy answers for a baseline"}
    if rules.min_parity_rate is not None and candidate.comparisons:
        rate = (candidate.comparisons - candidate.mismatches) / candidate.comparisons
        ok = rate >= rules.min_parity_rate
        gates["parity"] = {
            "ok": ok,
            "limit": rules.min_parity_rate,
            "rate": round(rate, 4),
            "comparisons": candidate.comparisons,
        }
        if not ok:
            failed.append(f"shadow parity {rate:.1%} under {rules.min_parity_rate:.1%}")
    if failed:
        return Verdict("fail", "; ".join(failed), figures)
    return Verdict("pass", "every gate held", figures)


@dataclass(frozen=True)
class Run:
    id: int
    route_id: str
    plan: str
    steps: tuple[int, ...]
    step_index: int
    state: str
    started_at: datetime
    step_started_at: datetime
    finished_at: datetime | None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Run:
        values = {name: row[name] for name in cls.__dataclass_fields__}
        return cls(**{**values, "steps": tuple(row["steps"])})

    @property
    def percent(self) -> int:
        return self.steps[self.step_index]

    def describe(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "steps": list(self.steps),
            "step": self.step_index + 1,
            "percent": self.percent,
            "started_at": iso(self.started_at),
            "step_started_at": iso(self.step_started_at),
            "finished_at": iso(self.finished_at),
        }


def progressive(entry: RouteEntry) -> bool:
    return entry.status == "canary" and entry.canary is not None


class CanaryController:
    """Per worker: the runs in force, this worker's figures for their current steps, and
    (on each watcher tick) saving those figures and judging the steps that are due."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.worker = f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.runs: dict[str, Run] = {}
        self.last_verdicts: dict[str, dict[str, Any]] = {}
        self._samples: dict[tuple[int, int, str], Sample] = {}

    # -- per request (on the loop) ----------------------------------------------------------
    def observe(self, route_id: str, side: str, *, failed: bool, seconds: float) -> None:
        run = self.runs.get(route_id)
        if run is not None and run.state == RUNNING:
            key = (run.id, run.step_index, side)
            self._samples.setdefault(key, Sample()).observe(failed=failed, seconds=seconds)

    def compared(self, route_id: str, *, differs: bool) -> None:
        """A shadow comparison of the legacy share finished (a parity-gated canary)."""
        run = self.runs.get(route_id)
        if run is not None and run.state == RUNNING:
            sample = self._samples.setdefault((run.id, run.step_index, "async"), Sample())
            sample.comparisons += 1
            sample.mismatches += differs

    def apply(self, entry: RouteEntry) -> RouteEntry:
        """The entry as its run has it: the step's percent, or async / legacy once decided."""
        if not progressive(entry):
            return entry
        run = self.runs.get(entry.id)
        if run is None or run.plan != entry.fingerprint:
            return entry  # not started yet: the first step's percent
        if run.state == PROMOTED:
            return replace(entry, status="async", percent=0)
        if run.state == ROLLED_BACK:
            return replace(entry, status="legacy", percent=0)
        return replace(entry, percent=run.percent)

    # -- on each watcher tick ---------------------------------------------------------------
    async def tick(self, db: Database, decided: Manifest) -> None:
        await self._save_samples(db)
        wanted = {e.id: e for e in decided.entries.values() if progressive(e)}
        runs: dict[str, Run] = {}
        if wanted:
            rows = await store.canary_runs(db, route_ids=list(wanted))
            found = {(row["route_id"], row["plan"]): Run.from_row(row) for row in rows}
            for route_id, entry in wanted.items():
                run = found.get((route_id, entry.fingerprint))
                if run is None:
                    assert entry.canary is not None
                    await store.start_canary(
                        db,
                        route_id=route_id,
                        plan=entry.fingerprint,
                        steps=list(entry.canary.steps),
                        actor=ACTOR,
                    )
                    rows = await store.canary_runs(db, route_ids=[route_id])
                    run = next(Run.from_row(r) for r in rows if r["plan"] == entry.fingerprint)
                if run.state == RUNNING:
                    run = await self._judge(db, entry, run)
                runs[route_id] = run
        if runs != self.runs:
            self.runs = runs
            self.gateway.use_canary_runs()

    async def _save_samples(self, db: Database) -> None:
        samples = [
            {"canary_id": run_id, "step_index": step, "side": side, **vars(sample)}
            for (run_id, step, side), sample in self._samples.items()
        ]
        await store.save_canary_samples(db, self.worker, samples)
        current = {(run.id, run.step_index) for run in self.runs.values() if run.state == RUNNING}
        for key in [key for key in self._samples if key[:2] not in current]:
            del self._samples[key]  # saved for the last time: that step is over

    async def _judge(self, db: Database, entry: RouteEntry, run: Run) -> Run:
        rules = entry.canary
        assert rules is not None
        now = utcnow()
        rollback = self.gateway.rollbacks.get(entry.id)
        if rollback is not None:  # the error window got there first
            verdict = Verdict("fail", f"automatic rollback: {rollback['reason']}", {})
        elif now - run.step_started_at < timedelta(seconds=rules.interval_seconds):
            return run
        else:
            sides = {"legacy": Sample(), "async": Sample()}
            for row in await store.canary_samples(db, canary_id=run.id, step_index=run.step_index):
                sides[row["side"]].add(row)
            verdict = judge(rules, run.step_index, sides["legacy"], sides["async"])
        self.last_verdicts[entry.id] = {
            "outcome": verdict.outcome,
            "reason": verdict.reason,
            "figures": verdict.figures,
            "at": iso(now),
        }
        if verdict.outcome == "hold":
            return run
        if verdict.outcome == "fail":
            change: dict[str, Any] = {"state": ROLLED_BACK, "step_index": run.step_index}
            kind, status, percent = "canary_rollback", "legacy", None
            reason = f"step {run.step_index + 1} ({run.percent}%) failed: {verdict.reason}"
        elif run.step_index + 1 < len(run.steps):
            change = {"state": RUNNING, "step_index": run.step_index + 1}
            kind, status, percent = "canary_step", "canary", run.steps[run.step_index + 1]
            reason = f"step {run.step_index + 1} ({run.percent}%) held: on to {percent}%"
        else:
            change = {"state": PROMOTED, "step_index": run.step_index}
            kind, status, percent = "canary_promote", "async", None
            reason = f"last step ({run.percent}%) held: promoted to async"
        took = await store.decide_canary(
            db,
            run={"id": run.id, "route_id": run.route_id, "step_index": run.step_index},
            kind=kind,
            status=status,
            percent=percent,
            actor=ACTOR,
            reason=reason,
            figures=verdict.figures,
            **change,
        )
        if took:
            log.warning("canary %s: %s", entry.id, reason)
        rows = await store.canary_runs(db, route_ids=[entry.id])
        return next(Run.from_row(r) for r in rows if r["id"] == run.id)
