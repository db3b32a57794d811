"""The migration dashboard (`/_gateway/`) and its JSON (`/_gateway/status`)."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from gateway import readiness, store
from gateway.manifest import STATUSES, Manifest
from shared.ingest import run_progress
from shared.jobs.stats import job_figures

if TYPE_CHECKING:
    from gateway.app import Gateway

log = logging.getLogger("gateway.dashboard")
_templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


async def gateway_status(gateway: Gateway) -> dict[str, Any]:
    file_manifest, live = gateway.file_manifest, gateway.manifest
    counters: dict[str, dict[str, int]] = {}  # shadow counts: every instance, in the database
    recent: list[dict[str, Any]] = []
    database_error = None
    decisions: list[dict[str, Any]] = []
    evidence: dict[str, Any] = {}  # what readiness judges on (gateway/readiness.py)
    # Requests, errors and fallbacks: every worker of this host, from its Prometheus figures.
    gateway.metrics.refresh()
    traffic = await asyncio.to_thread(gateway.metrics.route_figures)
    workers = await asyncio.to_thread(gateway.metrics.workers)
    if gateway.runtime is not None:
        try:
            counters = await store.counters(gateway.runtime.db)
            recent = await store.shadow_results(gateway.runtime.db, limit=25)
            decisions = await store.decisions(gateway.runtime.db, limit=25)
            evidence = await readiness.database_figures(gateway.runtime.db)
        except Exception as exc:  # the dashboard still shows what this worker knows
            database_error = f"{type(exc).__name__}: {exc}"
    for (route_id, name), amount in gateway.metrics.pending.items():
        counters.setdefault(route_id, {})
        counters[route_id][name] = counters[route_id].get(name, 0) + amount
    latencies = {}
    if gateway.runtime is not None:
        latencies = {(r["route_id"], r["side"]): r for r in gateway.runtime.stats.by_route()}

    routes: list[dict[str, Any]] = []
    by_file: dict[str, Counter[str]] = {}
    for entry in file_manifest.entries.values():
        figures = counters.get(entry.id, {})
        served = traffic.get(entry.id, {})
        comparisons = figures.get("shadow_comparisons", 0)
        differing = figures.get("shadow_mismatches", 0) + figures.get("shadow_errors", 0)
        sides = {}
        for side in ("legacy", "async"):
            requests = served.get(f"requests_{side}", 0)
            errors = served.get(f"errors_{side}", 0)
            local = latencies.get((entry.id, side), {})
            sides[side] = {
                "requests": requests,
                "errors": errors,
                "error_rate": _rate(errors, requests),
                "p50_ms": local.get("p50_ms"),
                "p95_ms": local.get("p95_ms"),
            }
        effective = live.entries[entry.id].status
        routes.append(
            {
                "id": entry.id,
                "method": entry.method,
                "path": entry.path,
                "legacy_file": entry.legacy_file,
                "status": entry.status,
                "effective_status": effective,
                "percent": entry.percent if entry.status == "canary" else None,
                "parity": {
                    "comparisons": comparisons,
                    "mismatches": figures.get("shadow_mismatches", 0),
                    "noise": figures.get("shadow_noise", 0),
                    "errors": figures.get("shadow_errors", 0),
                    "skipped": figures.get("shadow_skipped", 0),
                    "rate": _rate(comparisons - differing, comparisons),
                },
                "record": {"sample_rate": entry.record.sample_rate},
                "fallbacks": served.get("fallbacks", 0),
                "sides": sides,
                "rollback": gateway.rollbacks.get(entry.id),
                "override": _override(gateway, entry.id),
                "canary": _canary(gateway, entry.id),
            }
        )
        file = entry.legacy_file or "(async only)"
        by_file.setdefault(file, Counter())[entry.status] += 1
    verdicts = await asyncio.to_thread(
        _readiness, file_manifest, counters, evidence, {r["id"]: r["sides"] for r in routes}
    )
    for route in routes:
        route["readiness"] = verdicts[route["id"]].describe()
    counts = file_manifest.counts()
    total = sum(counts.values())
    return {
        "manifest": {
            "path": file_manifest.path,
            "version": file_manifest.version,
            "live_version": live.version,
            "error": gateway.manifest_error,
        },
        "counts": counts,
        "progress": {
            "total": total,
            "migrated_percent": round(100 * counts["async"] / total, 1) if total else 0.0,
            "by_file": {
                file: {status: tally.get(status, 0) for status in STATUSES}
                for file, tally in sorted(by_file.items())
            },
        },
        "routes": routes,
        "readiness": {
            verdict: sum(1 for found in verdicts.values() if found.verdict == verdict)
            for verdict in readiness.VERDICTS
        },
        "traffic": {"scope": "host" if gateway.metrics.host_dir else "process", "workers": workers},
        "mismatches": [_mismatch(row) for row in recent],
        "rollbacks": list(gateway.rollbacks.values()),
        "decisions": decisions,
        "jobs": await _jobs(gateway),
        "runtime": gateway.runtime_facts(),
        "database_error": database_error,
    }


def _readiness(
    manifest: Manifest,
    counters: dict[str, dict[str, int]],
    evidence: dict[str, Any],
    served: dict[str, dict[str, dict[str, Any]]],
) -> dict[str, readiness.Readiness]:
    """Every route's verdict (in a thread: it reads the parity files and the manifest's
    git history, both cached)."""
    decisions = evidence.get("decisions", [])
    rollbacks = evidence.get("rollbacks", [])
    overrides = evidence.get("overrides", [])
    return readiness.readiness(
        manifest,
        counters=counters,
        recordings=evidence.get("recordings", {}),
        decisions=decisions,
        rollbacks=rollbacks,
        overrides=overrides,
        canary_runs=evidence.get("canary_runs", {}),
        served=served,
        corpus=readiness.case_counts(),
        committed=readiness.committed_counts(),
        on_async=readiness.cached_time_on_async(
            manifest, decisions=decisions, rollbacks=rollbacks, overrides=overrides
        ),
    )


async def _jobs(gateway: Gateway) -> dict[str, Any]:
    """The job queue per task (every worker's: read from the queue) and the latest ingest."""
    jobs: dict[str, Any] = {"tasks": [], "ingest": None, "error": None, "durable": False}
    rt = gateway.runtime
    if rt is None:
        return jobs
    jobs["durable"] = rt.jobs.durable
    try:
        async with asyncio.timeout(3.0):  # the page must not wait on a database that is down
            jobs["tasks"] = await job_figures(rt.jobs)
            jobs["ingest"] = await run_progress(rt.db)
    except Exception as exc:
        jobs["error"] = f"{type(exc).__name__}: {exc}"
    return jobs


def _override(gateway: Gateway, route_id: str) -> dict[str, Any] | None:
    """The route's pin and flip from the database, and which one is in force here."""
    kinds = gateway.overrides.get(route_id)
    if not kinds:
        return None
    live = gateway.live_overrides.get(route_id)
    return {
        "in_force": live.describe() if live is not None else None,
        "recorded": [item.describe() for _, item in sorted(kinds.items())],
    }


def _canary(gateway: Gateway, route_id: str) -> dict[str, Any] | None:
    run = gateway.canary.runs.get(route_id)
    if run is None:
        return None
    return {**run.describe(), "last_check": gateway.canary.last_verdicts.get(route_id)}


def _mismatch(row: dict[str, Any]) -> dict[str, Any]:
    query = f"?{row['query']}" if row["query"] else ""
    return {
        "route_id": row["route_id"],
        "kind": row["kind"],
        "request": f"{row['method']} {row['path']}{query}",
        "request_body": row["request_body"],
        "legacy_status": row["legacy_status"],
        "async_status": row["async_status"],
        "differences": row["differences"],
        "at": row["created_at"],
    }


def dashboard_html(status: dict[str, Any]) -> str:
    return _templates.get_template("dashboard.html").render(status=status, statuses=STATUSES)
