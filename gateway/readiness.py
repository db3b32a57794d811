"""Readiness per route: what the evidence says, and the step it allows.

One verdict per route, the first rule that applies (thresholds below, documented in
docs/migration.md, "Readiness per route"):

- **not ready** — something sends the route back to Flask (an automatic rollback still in
  force, a pin or a progressive canary rolled back), or it was rolled back less than
  `RECENT_ROLLBACK` ago; else, for a route not yet on `async`: no parity case covers it
  (hand-written corpus or recorded), shadow parity is under `MIN_PARITY_RATE`, a canary's
  async half fails more or is slower than legacy, or there are fewer than
  `MIN_SHADOW_COMPARISONS` shadow comparisons ("shadow it first"; a write is shadowed only
  with `allow_writes`, so without it its parity cases are the evidence);
- **ready to canary** — covered by parity cases and, for what can be shadowed, shadow parity
  of at least `MIN_PARITY_RATE` over at least `MIN_SHADOW_COMPARISONS` comparisons;
- **ready to flip** — a canary served every user (reached 100%, or a progressive canary was
  promoted), or served at least `MIN_CANARY_REQUESTS` async answers with an error rate at most
  `MAX_ERROR_RATE_DELTA` above legacy's and a p95 at most `MAX_P95_RATIO` x legacy's; a route
  already on `async` for less than `FULLY_MIGRATED_AFTER` is here too (flipped, on probation);
- **fully migrated** — on `async` for `FULLY_MIGRATED_AFTER` (`retire`'s default) without a
  rollback, and nothing sends it back (gateway/retirement.py's evidence).

`readiness()` judges the gathered figures (pure, given `on_async`; without it, it reads the
manifest's git history as `retire` does); `database_figures()`, `case_counts()` and
`committed_counts()` gather them, with the traffic figures the caller has, for `python -m
gateway routes` and the dashboard.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import yaml

from gateway.canary import P95_SLACK_MS, PROMOTED, ROLLED_BACK, RUNNING
from gateway.manifest import Manifest, RouteEntry
from gateway.parity import CORPUS_DIR
from gateway.recording import RECORDED_DIR, recorded_files
from gateway.retirement import OnAsync, age, naive, time_on_async

NOT_READY = "not ready"
READY_TO_CANARY = "ready to canary"
READY_TO_FLIP = "ready to flip"
FULLY_MIGRATED = "fully migrated"
VERDICTS = (NOT_READY, READY_TO_CANARY, READY_TO_FLIP, FULLY_MIGRATED)

MIN_SHADOW_COMPARISONS = 50  # shadow comparisons before parity says anything
MIN_PARITY_RATE = 0.99  # share of them without a real difference (noise excluded)
MIN_CANARY_REQUESTS = 100  # async answers of a canary before its figures say anything
MAX_ERROR_RATE_DELTA = 0.01  # canary: async error rate at most legacy's + this
MAX_P95_RATIO = 1.5  # canary: async p95 at most this x legacy's (or P95_SLACK_MS more)
RECENT_ROLLBACK = timedelta(days=1)  # a rollback cleared since less than this still counts
FULLY_MIGRATED_AFTER = timedelta(days=14)  # on async without a rollback (`retire --days`)

SHADOWED_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})  # others only with allow_writes
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
T = TypeVar("T")


@dataclass(frozen=True)
class Side:
    """One half's traffic on the route (a running gateway's figures for its host)."""

    requests: int
    errors: int
    p95_ms: float | None

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.requests if self.requests else None


@dataclass(frozen=True)
class Evidence:
    route_id: str
    method: str
    status: str  # the file's
    percent: int  # a fixed canary's
    shadows_writes: bool
    corpus_cases: int | None  # None: the corpus is not in this install
    committed_cases: int  # recorded cases exported into the repository
    recorded_cases: int  # recorded cases in the database (sampled and shadow mismatches)
    shadow_comparisons: int
    shadow_differing: int  # mismatches and failed shadow calls
    canary_max_percent: int | None  # the highest share on async a canary reached
    canary_run: dict[str, Any] | None  # the progressive run of the current entry
    canary_last: str | None  # the last canary decision, in words
    legacy: Side | None
    async_: Side | None
    on_async: OnAsync
    rollback_at: datetime | None  # the latest automatic rollback, cleared or not
    rollback_reason: str | None
    rollback_active: bool
    pinned: str | None  # a pin to legacy, in words

    @property
    def cases(self) -> int:
        return (self.corpus_cases or 0) + self.committed_cases + self.recorded_cases

    @property
    def parity_rate(self) -> float | None:
        comparisons = self.shadow_comparisons
        return (comparisons - self.shadow_differing) / comparisons if comparisons else None


@dataclass(frozen=True)
class Readiness:
    verdict: str
    reason: str
    evidence: Evidence

    def describe(self) -> dict[str, Any]:
        """As JSON (`/_gateway/status`)."""
        e = self.evidence
        since = e.on_async.since
        return {
            "verdict": self.verdict,
            "reason": self.reason,
            "cases": {
                "corpus": e.corpus_cases,
                "committed": e.committed_cases,
                "recorded": e.recorded_cases,
            },
            "shadow": {
                "comparisons": e.shadow_comparisons,
                "differing": e.shadow_differing,
                "rate": None if e.parity_rate is None else round(e.parity_rate, 4),
            },
            "canary": {
                "max_percent": e.canary_max_percent,
                "run": e.canary_run,
                "last": e.canary_last,
            },
            "sides": {
                name: None
                if side is None
                else {
                    "requests": side.requests,
                    "errors": side.errors,
                    "error_rate": None if side.error_rate is None else round(side.error_rate, 4),
                    "p95_ms": side.p95_ms,
                }
                for name, side in (("legacy", e.legacy), ("async", e.async_))
            },
            "async_since": None if since is None else f"{since:%Y-%m-%dT%H:%M:%SZ}",
            "rollback": None
            if e.rollback_at is None
            else {
                "at": f"{e.rollback_at:%Y-%m-%dT%H:%M:%SZ}",
                "reason": e.rollback_reason,
                "active": e.rollback_active,
            },
        }

    def lines(self) -> list[str]:
        """Every figure behind the verdict, in words (`routes --route ID`)."""
        e = self.evidence
        corpus = "not in this install" if e.corpus_cases is None else str(e.corpus_cases)
        lines = [
            f"parity cases: corpus {corpus}, recorded {e.recorded_cases} in the database, "
            f"{e.committed_cases} committed",
        ]
        if e.shadow_comparisons:
            lines.append(
                f"shadow: {e.shadow_comparisons} comparisons, {e.shadow_differing} differing, "
                f"parity {e.parity_rate:.1%}"
            )
        else:
            lines.append("shadow: no comparisons")
        if e.canary_max_percent is None and e.canary_run is None:
            lines.append("canary: none")
        else:
            reached = "" if e.canary_max_percent is None else f"reached {e.canary_max_percent}%"
            run = e.canary_run
            progressive = (
                ""
                if run is None
                else f"progressive run {run['state']} at step {run['step']} of "
                + "/".join(map(str, run["steps"]))
                + "%"
            )
            last = f"; last decision: {e.canary_last}" if e.canary_last else ""
            lines.append("canary: " + ", ".join(filter(None, (reached, progressive))) + last)
        lines.append(f"errors and latency: {_sides_text(e)}")
        if e.on_async.since is not None:
            lines.append(f"on async since {e.on_async.since:%Y-%m-%d %H:%M} UTC")
        else:
            lines.append(f"on async: no (the file says {e.status})")
        if e.rollback_at is not None:
            state = "in force" if e.rollback_active else "cleared"
            lines.append(
                f"last rollback: {e.rollback_at:%Y-%m-%d %H:%M} UTC ({state}): {e.rollback_reason}"
            )
        return lines


def _sides_text(e: Evidence) -> str:
    if e.legacy is None and e.async_ is None:
        return "no traffic figures (no running gateway answered)"
    parts = []
    for name, side in (("legacy", e.legacy), ("async", e.async_)):
        if side is None or not side.requests:
            parts.append(f"{name} no requests")
            continue
        p95 = "-" if side.p95_ms is None else f"{side.p95_ms:g} ms"
        parts.append(f"{name} {side.requests} req, {side.error_rate:.1%} errors, p95 {p95}")
    return "; ".join(parts)


# -- the rules ---------------------------------------------------------------------------------


def judge(
    e: Evidence, *, now: datetime, fully_after: timedelta = FULLY_MIGRATED_AFTER
) -> Readiness:
    """The verdict on one route's evidence: the first rule that applies."""

    def verdict(name: str, reason: str) -> Readiness:
        return Readiness(name, reason, e)

    if e.rollback_active:
        return verdict(
            NOT_READY,
            f"rolled back to legacy at {e.rollback_at:%Y-%m-%d %H:%M}: {e.rollback_reason} "
            "(fix the async half, then clear-rollback or flip)",
        )
    if e.pinned:
        return verdict(NOT_READY, e.pinned)
    run = e.canary_run
    if run is not None and run["state"] == ROLLED_BACK:
        return verdict(NOT_READY, f"progressive canary rolled back: {e.canary_last}")
    if e.rollback_at is not None and now - e.rollback_at < RECENT_ROLLBACK:
        return verdict(
            NOT_READY,
            f"rolled back {age(now - e.rollback_at)} ago ({e.rollback_reason}); "
            f"fresh evidence needed for {age(RECENT_ROLLBACK)}",
        )

    since = e.on_async.since
    if since is not None:
        if e.on_async.blocking:
            return verdict(NOT_READY, f"on async in the file, but {e.on_async.blocking}")
        held = now - since
        if held >= fully_after:
            return verdict(
                FULLY_MIGRATED,
                f"on async since {since:%Y-%m-%d} ({age(held)}) without a rollback",
            )
        return verdict(
            READY_TO_FLIP,
            f"flipped: on async for {age(held)} without a rollback; fully migrated after "
            f"{age(fully_after)}",
        )

    coverage = _coverage(e)
    if not e.cases and e.corpus_cases is not None:
        return verdict(
            NOT_READY,
            "no parity case covers it: add corpus cases (tests/parity/corpus/) or record "
            "its traffic (`python -m gateway record on`)",
        )
    rate = e.parity_rate
    if rate is not None and rate < MIN_PARITY_RATE:
        return verdict(
            NOT_READY,
            f"shadow parity {rate:.1%} over {e.shadow_comparisons} comparisons, under "
            f"{MIN_PARITY_RATE:.0%} ({e.shadow_differing} differing: `python -m gateway "
            f"shadow-report --route {e.route_id}`)",
        )
    if run is not None and run["state"] == PROMOTED:
        return verdict(
            READY_TO_FLIP,
            f"progressive canary promoted ({e.canary_last}): write `status: async`",
        )
    if e.canary_max_percent == 100:
        return verdict(READY_TO_FLIP, "a canary served every user (100%)")
    if e.status == "canary" and (canary := _canary_figures(e)) is not None:
        good, text = canary
        if good:
            return verdict(READY_TO_FLIP, f"canary at {_share(e)}: {text}")
        return verdict(NOT_READY, f"canary at {_share(e)}: {text}")
    shadowed = e.method in SHADOWED_METHODS or e.shadows_writes
    if shadowed and e.shadow_comparisons >= MIN_SHADOW_COMPARISONS:
        reason = f"{coverage}; shadow parity {rate:.1%} over {e.shadow_comparisons} comparisons"
    elif not shadowed:
        reason = f"{coverage}; a write, not shadowed without allow_writes: its cases are the proof"
    else:
        return verdict(
            NOT_READY,
            f"{coverage}, but {e.shadow_comparisons} of {MIN_SHADOW_COMPARISONS} shadow "
            "comparisons: shadow it first",
        )
    if e.status == "canary":
        reason += f"; canary at {_share(e)}: {_canary_progress(e)}"
    return verdict(READY_TO_CANARY, reason)


def _coverage(e: Evidence) -> str:
    parts = []
    if e.corpus_cases:
        parts.append(f"{e.corpus_cases} corpus")
    if e.recorded_cases or e.committed_cases:
        parts.append(f"{e.recorded_cases + e.committed_cases} recorded")
    text = "covered by " + " + ".join(parts) + " cases" if parts else "no recorded case"
    if e.corpus_cases is None:
        text += " (the parity corpus is not in this install)"
    return text


def _share(e: Evidence) -> str:
    run = e.canary_run
    if run is not None and run["state"] == RUNNING:
        return (
            f"{run['percent']}% (step {run['step']} of " + "/".join(map(str, run["steps"])) + "%)"
        )
    return f"{e.percent}%"


def _canary_progress(e: Evidence) -> str:
    if e.async_ is None:
        return "no traffic figures (no running gateway answered)"
    return f"{e.async_.requests} of {MIN_CANARY_REQUESTS} async answers so far"


def _canary_figures(e: Evidence) -> tuple[bool, str] | None:
    """A canary's error and latency against legacy's, once it has enough async answers."""
    legacy, candidate = e.legacy, e.async_
    if candidate is None or candidate.requests < MIN_CANARY_REQUESTS:
        return None
    async_rate = candidate.error_rate or 0.0
    baseline = legacy is not None and legacy.requests >= MIN_CANARY_REQUESTS
    legacy_rate = (legacy.error_rate or 0.0) if legacy is not None and baseline else 0.0
    failed = []
    if async_rate - legacy_rate > MAX_ERROR_RATE_DELTA:
        failed.append(
            f"async error rate {async_rate:.1%} vs legacy {legacy_rate:.1%} "
            f"(over +{MAX_ERROR_RATE_DELTA:.0%})"
        )
    async_p95 = candidate.p95_ms
    legacy_p95 = legacy.p95_ms if legacy is not None and baseline else None
    latency = "no legacy baseline for p95"
    if async_p95 is not None and legacy_p95 is not None:
        latency = f"p95 {async_p95:g} ms vs legacy {legacy_p95:g} ms"
        if async_p95 > MAX_P95_RATIO * legacy_p95 and async_p95 - legacy_p95 >= P95_SLACK_MS:
            failed.append(f"async p95 {async_p95:g} ms over {MAX_P95_RATIO:g} x legacy")
    if failed:
        return False, "; ".join(failed)
    return True, (
        f"{candidate.requests} async answers, error rate {async_rate:.1%} vs legacy "
        f"{legacy_rate:.1%}, {latency}"
    )


# -- gathering the evidence --------------------------------------------------------------------


def readiness(
    manifest: Manifest,
    *,
    counters: dict[str, dict[str, int]],
    recordings: dict[str, dict[str, int]],
    decisions: list[dict[str, Any]],
    rollbacks: list[dict[str, Any]],
    overrides: list[dict[str, Any]],
    canary_runs: dict[str, dict[str, Any]],
    served: dict[str, dict[str, dict[str, Any]]],
    corpus: dict[str, int] | None,
    committed: dict[str, int],
    on_async: dict[str, OnAsync] | None = None,
    now: datetime | None = None,
    fully_after: timedelta = FULLY_MIGRATED_AFTER,
) -> dict[str, Readiness]:
    """Every route's verdict. Figures as the database and files give them: `served` is
    route -> side -> {requests, errors, p95_ms} (a running gateway's), `corpus` None when
    the corpus is not in this install; `on_async` as gateway/retirement.py computes it."""
    now = now or datetime.now(UTC).replace(tzinfo=None)
    if on_async is None:
        on_async = time_on_async(
            manifest, decisions=decisions, rollbacks=rollbacks, overrides=overrides
        )
    by_route = {
        name: _by_route(rows)
        for name, rows in (
            ("decisions", decisions),
            ("rollbacks", rollbacks),
            (
                "pins",
                [row for row in overrides if row["kind"] == "pin" and row["status"] != "async"],
            ),
        )
    }
    verdicts = {}
    for entry in manifest.entries.values():
        evidence = _evidence(
            entry,
            counters=counters.get(entry.id, {}),
            recordings=recordings.get(entry.id, {}),
            decisions=by_route["decisions"].get(entry.id, []),
            rollbacks=by_route["rollbacks"].get(entry.id, []),
            pins=by_route["pins"].get(entry.id, []),
            run=canary_runs.get(entry.id),
            served=served.get(entry.id, {}),
            corpus=corpus,
            committed=committed.get(entry.id, 0),
            on_async=on_async.get(entry.id, OnAsync(None, None)),
        )
        verdicts[entry.id] = judge(evidence, now=now, fully_after=fully_after)
    return verdicts


def _by_route(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        grouped.setdefault(row["route_id"], []).append(row)
    return grouped


def _evidence(
    entry: RouteEntry,
    *,
    counters: dict[str, int],
    recordings: dict[str, int],
    decisions: list[dict[str, Any]],
    rollbacks: list[dict[str, Any]],
    pins: list[dict[str, Any]],
    run: dict[str, Any] | None,
    served: dict[str, dict[str, Any]],
    corpus: dict[str, int] | None,
    committed: int,
    on_async: OnAsync,
) -> Evidence:
    # The shares of the current canary: since the last decision that put it back on
    # legacy or shadow (a canary given up on is no evidence for the next one).
    ordered = sorted(decisions, key=lambda row: naive(row["created_at"]))
    backs = [i for i, row in enumerate(ordered) if row.get("status") in ("legacy", "shadow")]
    percents = [
        int(row["percent"])
        for row in ordered[backs[-1] + 1 if backs else 0 :]
        if row.get("status") == "canary" and row.get("percent") is not None
    ]
    if entry.status == "canary" and entry.canary is None:
        percents.append(entry.percent)
    current_run = None
    if run is not None and entry.canary is not None and run["plan"] == entry.fingerprint:
        steps = list(run["steps"])
        current_run = {
            "state": run["state"],
            "steps": steps,
            "step": run["step_index"] + 1,
            "percent": steps[run["step_index"]],
        }
        held = run["step_index"] + (1 if run["state"] == PROMOTED else 0)
        percents.extend(steps[:held])
    canary_decisions = [row for row in ordered if str(row["kind"]).startswith("canary")]
    last = canary_decisions[-1]["reason"] if canary_decisions else None
    latest = max(rollbacks, key=lambda row: naive(row["created_at"]), default=None)
    pin = pins[0] if pins else None
    return Evidence(
        route_id=entry.id,
        method=entry.method,
        status=entry.status,
        percent=entry.percent,
        shadows_writes=entry.shadow.allow_writes,
        corpus_cases=None if corpus is None else corpus.get(entry.id, 0),
        committed_cases=committed,
        recorded_cases=sum(recordings.values()),
        shadow_comparisons=counters.get("shadow_comparisons", 0),
        shadow_differing=counters.get("shadow_mismatches", 0) + counters.get("shadow_errors", 0),
        canary_max_percent=max(percents, default=None),
        canary_run=current_run,
        canary_last=last,
        legacy=_side(served.get("legacy")),
        async_=_side(served.get("async")),
        on_async=on_async,
        rollback_at=None if latest is None else naive(latest["created_at"]),
        rollback_reason=None if latest is None else latest["reason"],
        rollback_active=latest is not None and latest.get("cleared_at") is None,
        pinned=None
        if pin is None
        else f"pinned to {pin['status']} by {pin['actor']}: {pin['reason'] or '(no reason)'}",
    )


def _side(figures: dict[str, Any] | None) -> Side | None:
    if not figures:
        return None
    return Side(int(figures["requests"]), int(figures["errors"]), figures.get("p95_ms"))


# -- the figures behind it ---------------------------------------------------------------------


async def database_figures(db: Any) -> dict[str, Any]:
    """Everything `readiness()` reads from the database every instance writes to."""
    from gateway import store
    from gateway.recording import recording_counts
    from gateway.retirement import database_evidence

    return {
        **await database_evidence(db),
        "counters": await store.counters(db),
        "recordings": await recording_counts(db),
        "canary_runs": await store.latest_canary_runs(db),
    }


def case_counts(directory: Path = CORPUS_DIR) -> dict[str, int] | None:
    """Route -> cases in the hand-written corpus; None when it is not in this install (the
    image ships without tests/)."""
    if not directory.is_dir():
        return None
    return _counted(sorted(directory.glob("*.yaml")))


def committed_counts(paths: Iterable[str | Path] = (RECORDED_DIR,)) -> dict[str, int]:
    """Route -> recorded cases exported into the repository (tests/parity/recorded/)."""
    return _counted([path for path in recorded_files(paths) if path.is_file()])


def _counted(files: list[Path]) -> dict[str, int]:
    key = tuple((str(path), path.stat().st_mtime_ns) for path in files)
    return _cache(("cases", key), 3600, lambda: _count_cases(files))


def _count_cases(files: list[Path]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for file in files:
        data = yaml.load(file.read_text(encoding="utf-8"), _Loader) or {}
        for route_id, cases in data.items():
            counts[route_id] = counts.get(route_id, 0) + len(cases or [])
    return counts


def cached_time_on_async(
    manifest: Manifest, **evidence: list[dict[str, Any]]
) -> dict[str, OnAsync]:
    """`time_on_async`, with the manifest's git history read at most once a minute per
    version of the file (the dashboard asks every 5 s)."""
    from gateway.retirement import async_since_from_file

    path = Path(manifest.path)
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        stamp = 0
    since = _cache(
        ("since", str(path), stamp, manifest.version), 60, lambda: async_since_from_file(manifest)
    )
    return time_on_async(manifest, since=since, **evidence)


_CACHE: dict[Any, tuple[float, Any]] = {}


def _cache(key: Any, seconds: float, compute: Callable[[], T]) -> T:
    found = _CACHE.get(key)
    if found is not None and time.monotonic() - found[0] < seconds:
        value: T = found[1]
        return value
    value = compute()
    if len(_CACHE) > 64:  # stale versions of the files
        _CACHE.clear()
    _CACHE[key] = (time.monotonic(), value)
    return value
