"""The report's verdicts: each performance goal of gateway.md met or missed, each claim of
the audit confirmed or refuted, always with the figure measured in this run."""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from bench.scenarios import spread

Records = dict[str, dict[str, Any]]


@dataclass
class Verdict:
    kind: str  # target | claim
    scenario: str
    statement: str
    measured: str
    status: str  # met | missed | confirmed | refuted | not measured
    subject: str | None = None  # the configuration to profile when a target is missed
    key: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


# -- reading figures ---------------------------------------------------------------------------


def rounds(records: Records, scenario: str, config: str) -> list[dict[str, Any]]:
    row = records.get(scenario, {}).get("rows", {}).get(config)
    return list(row["rounds"]) if row and not row.get("skipped") else []


def med(records: Records, scenario: str, config: str, key: str) -> float | None:
    values = [r[key] for r in rounds(records, scenario, config) if r.get(key) is not None]
    values = [v for v in values if not math.isnan(v)]
    return statistics.median(values) if values else None


def ratio(records: Records, scenario: str, a: str, b: str, key: str) -> dict[str, float] | None:
    """a / b round by round (each pair measured back to back), as median and spread."""
    pairs = zip(rounds(records, scenario, a), rounds(records, scenario, b), strict=False)
    values = [x[key] / y[key] for x, y in pairs if x.get(key) and y.get(key)]
    return spread(values) if values else None


def fmt_ratio(r: dict[str, float]) -> str:
    if r["min"] == r["max"]:
        return f"{r['median']:.2f}x"
    return f"{r['median']:.2f}x ({r['min']:.2f}..{r['max']:.2f})"


def seconds(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def all_succeeded(records: Records, scenario: str, config: str) -> bool:
    done = rounds(records, scenario, config)
    return bool(done) and all(r.get("ok") == r.get("n") for r in done)


def not_measured(kind: str, scenario: str, statement: str, why: str) -> Verdict:
    return Verdict(kind, scenario, statement, why, "not measured")


# -- gateway.md's performance goals ------------------------------------------------------------


def target_seed_scenario(records: Records) -> list[Verdict]:
    statement = (
        "The seed's scenario (10 concurrent, 500 ms DB): gateway with the route on async "
        "finishes all ten in under 1.2 x 500 ms (legacy on 1 sync worker: about 10 x 500 ms)"
    )
    after = med(records, "audit10", "gateway-async-1", "total_s")
    if after is None:
        return [not_measured("target", "audit10", statement, "gateway-async-1 not measured")]
    before = med(records, "audit10", "legacy-sync-1", "total_s")
    measured = f"gateway-async-1: {seconds(after)} ({after / 0.5:.2f} x 500 ms)"
    if before is not None:
        measured += f"; legacy-sync-1: {seconds(before)} ({before / 0.5:.1f} x 500 ms)"
    ok = after < 0.6 and all_succeeded(records, "audit10", "gateway-async-1")
    return [
        Verdict(
            "target",
            "audit10",
            statement,
            measured,
            "met" if ok else "missed",
            "gateway-async-1",
            "seed-scenario",
        )
    ]


THOUSAND_WITHIN = 2.5  # x the bare sleep endpoint (gateway.md)
SYNC_TIMES = 2.0  # DB-bound throughput: async over legacy on gunicorn sync
GTHREAD_TIMES = 1.3  # ... and over legacy on gunicorn gthread
FAN_OUT_WITHIN = 1.2  # x the slowest call
CPU_FLOOR_WITHIN = 1.5  # x the floor's CPU per request
SUMMARY_CPU_MS = 5.0  # the dashboard summary's CPU per request (issue 13)


def target_thousand(records: Records) -> list[Verdict]:
    statement = (
        "1,000 concurrent on one gateway worker, on PostgreSQL with 500 ms injected latency "
        "(held on a pooled connection) and the pool sized as docs/architecture.md says: all "
        "succeed, total within 2.5x of a bare FastAPI endpoint that only sleeps 500 ms "
        "(same run)"
    )
    r = ratio(records, "burst1000", "gateway-async-1", "sleep-1", "total_s")
    if r is None:
        return [not_measured("target", "burst1000", statement, "not measured")]
    record = records["burst1000"]
    gateway = med(records, "burst1000", "gateway-async-1", "total_s")
    floor = med(records, "burst1000", "sleep-1", "total_s")
    succeeded = all_succeeded(records, "burst1000", "gateway-async-1")
    measured = (
        f"gateway-async-1 {seconds(gateway)} vs sleep-1 {seconds(floor)}: {fmt_ratio(r)}; "
        f"{'all' if succeeded else 'NOT all'} 1,000 succeeded "
        f"(DB_POOL_SIZE={record.get('pool_size', '?')}"
    )
    opened = record.get("connections", {}).get("gateway-async-1", {})
    if opened:
        measured += (
            f"; connections open after the warm-up burst {opened.get('warm', '?')}, "
            f"after the rounds {opened.get('after_rounds', '?')}"
        )
    measured += ")"
    bare = ratio(records, "burst1000", "async-api-1", "sleep-1", "total_s")
    if bare is not None:
        measured += f"; bare async_api: {fmt_ratio(bare)}"
    ok = succeeded and r["median"] <= THOUSAND_WITHIN
    return [
        Verdict(
            "target",
            "burst1000",
            statement,
            measured,
            "met" if ok else "missed",
            "gateway-async-1",
            "burst1000",
        )
    ]


def target_db_throughput(records: Records) -> list[Verdict]:
    """Issue 13, point 3: one verdict per worker count (1 and 2), each against legacy on
    gunicorn sync and on gunicorn gthread with as many workers."""
    statement = (
        "DB-bound throughput on PostgreSQL: the async route serves at least 2x the requests "
        "per second of the same route on legacy (gunicorn sync, same worker count) and at "
        "least 1.3x legacy on gunicorn gthread"
    )
    scenario = "throughput-postgresql"
    verdicts = []
    for workers in (1, 2):
        at = f"{statement} [{workers} worker(s)]"
        after, before = f"gateway-async-{workers}", f"legacy-sync-{workers}"
        threads = "legacy-gthread-1x32" if workers == 1 else "legacy-gthread-2x16"
        r = ratio(records, scenario, after, before, "rps")
        if r is None:
            verdicts.append(
                not_measured("target", scenario, at, f"{after} or {before} not measured")
            )
            continue
        measured = (
            f"{workers} worker(s): {after} {med(records, scenario, after, 'rps'):.0f} rps vs "
            f"{before} {med(records, scenario, before, 'rps'):.0f} rps: {fmt_ratio(r)}"
        )
        g = ratio(records, scenario, after, threads, "rps")
        if g is not None:
            measured += (
                f"; vs gunicorn gthread {threads} "
                f"{med(records, scenario, threads, 'rps'):.0f} rps: {fmt_ratio(g)}"
            )
        else:
            measured += f"; gunicorn gthread {threads} not measured"
        ok = r["median"] >= SYNC_TIMES and (g is None or g["median"] >= GTHREAD_TIMES)
        verdicts.append(
            Verdict(
                "target",
                scenario,
                at,
                measured,
                "met" if ok else "missed",
                after,
                f"pg-throughput-{workers}w",
            )
        )
    return verdicts


def target_gateway_overhead(records: Records) -> list[Verdict]:
    verdicts = []
    for scenario in ("throughput-postgresql", "throughput-sqlite"):
        backend = scenario.split("-", 1)[1]
        for through, bare, what in (
            ("gateway-async-1", "async-api-1", "an async route keeps >= 90% of bare async_api"),
            (
                "gateway-legacy-1",
                "legacy-gthread-1x32",
                "a legacy route keeps >= 90% of Flask on gunicorn gthread (1 x 32)",
            ),
        ):
            statement = f"Gateway overhead ({backend}): {what}"
            r = ratio(records, scenario, through, bare, "rps")
            if r is None:
                verdicts.append(not_measured("target", scenario, statement, "not measured"))
                continue
            measured = (
                f"{through} {med(records, scenario, through, 'rps'):.0f} rps vs {bare} "
                f"{med(records, scenario, bare, 'rps'):.0f} rps: {r['median'] * 100:.0f}% "
                f"({r['min'] * 100:.0f}..{r['max'] * 100:.0f}%)"
            )
            verdicts.append(
                Verdict(
                    "target",
                    scenario,
                    statement,
                    measured,
                    "met" if r["median"] >= 0.9 else "missed",
                    through,
                    f"overhead-{backend}-{through}",
                )
            )
        verdicts.append(target_retired_overhead(records, scenario))
    return verdicts


RETIRED_CPU_WITHIN = 1.10


def target_retired_overhead(records: Records, scenario: str) -> Verdict:
    """Issue 14: with Flask not loaded the gateway costs what the bare async app costs, by
    CPU per request (the figure a loaded machine moves least; requests/s beside it)."""
    backend = scenario.split("-", 1)[1]
    retired, bare, loaded = "gateway-retired-1", "async-api-1", "gateway-async-1"
    statement = (
        f"Gateway overhead ({backend}): with Flask not loaded (legacy_half: retired) an async "
        "route is indistinguishable from bare async_api (CPU per request within "
        f"{(RETIRED_CPU_WITHIN - 1) * 100:.0f}%; issue 14)"
    )
    cpu = ratio(records, scenario, retired, bare, "cpu_ms_per_request")
    if cpu is None:
        return not_measured("target", scenario, statement, "not measured")
    measured = (
        f"{retired} {med(records, scenario, retired, 'cpu_ms_per_request'):.2f} ms vs {bare} "
        f"{med(records, scenario, bare, 'cpu_ms_per_request'):.2f} ms: {fmt_ratio(cpu)}"
    )
    with_flask = med(records, scenario, loaded, "cpu_ms_per_request")
    if with_flask is not None:
        measured += f" ({loaded}, Flask loaded: {with_flask:.2f} ms)"
    rps = ratio(records, scenario, retired, bare, "rps")
    if rps is not None:
        measured += (
            f"; requests/s {med(records, scenario, retired, 'rps'):.0f} vs "
            f"{med(records, scenario, bare, 'rps'):.0f}: {fmt_ratio(rps)}"
        )
    return Verdict(
        "target",
        scenario,
        statement,
        measured,
        "met" if cpu["median"] <= RETIRED_CPU_WITHIN else "missed",
        retired,
        f"overhead-{backend}-{retired}",
    )


def target_jobs_drain(records: Records) -> list[Verdict]:
    """Issue 12: the queue drains as fast as the workers' concurrency allows."""
    rows = records.get("jobs-drain", {}).get("rows", {})
    verdicts = []
    for label, default in (
        ("the default JOBS_CONCURRENCY=4", True),
        ("a higher --concurrency", False),
    ):
        statement = (
            f"Durable jobs: a queue of digest jobs drains with {label} at the rate it allows "
            "(its jobs over the AI calls they take, worker processes x concurrency at a time; "
            "within 1.2x), every job done"
        )
        setups = [name for name, row in rows.items() if (row.get("concurrency") == 4) == default]
        measured, met = [], True
        for setup in setups:
            done = rounds(records, "jobs-drain", setup)
            rate = med(records, "jobs-drain", setup, "jobs_per_s")
            if not done or rate is None:
                continue
            bound = rows[setup]["bound_jobs_per_s"]
            ok = sum(r["ok"] for r in done)
            total = sum(r["n"] for r in done)
            drained = med(records, "jobs-drain", setup, "drain_s")
            measured.append(
                f"{setup}: {rate:.2f} jobs/s of {bound:g} ({ok}/{total} done, "
                f"drained in {seconds(drained)})"
            )
            met = met and ok == total and rate * 1.2 >= bound
        if not measured:
            verdicts.append(not_measured("target", "jobs-drain", statement, "not measured"))
            continue
        verdicts.append(
            Verdict(
                "target",
                "jobs-drain",
                statement,
                "; ".join(measured),
                "met" if met else "missed",
                None,
                f"jobs-drain-{'default' if default else 'higher'}",
            )
        )
    return verdicts


def target_shadow(records: Records) -> list[Verdict]:
    statement = "Shadow mode adds under 10% to the primary side's p50 latency"
    r = ratio(records, "shadow", "gateway-shadow-1", "gateway-legacy-1", "p50_ms")
    if r is None:
        return [not_measured("target", "shadow", statement, "not measured")]
    on = med(records, "shadow", "gateway-shadow-1", "p50_ms")
    off = med(records, "shadow", "gateway-legacy-1", "p50_ms")
    added = (r["median"] - 1) * 100
    low, high = (r["min"] - 1) * 100, (r["max"] - 1) * 100
    measured = (
        f"at 100 req/s, p50 {off:.1f} ms off, {on:.1f} ms on: {added:+.0f}% "
        f"({low:+.0f}..{high:+.0f}%)"
    )
    saturated = ratio(records, "shadow", "gateway-shadow-1", "gateway-legacy-1", "saturated_rps")
    if saturated is not None:
        measured += f"; saturated throughput with shadow: {saturated['median'] * 100:.0f}%"
    parity = records["shadow"].get("shadow_parity") or {}
    if parity:
        measured += f"; {parity.get('comparisons', 0)} comparisons recorded"
    return [
        Verdict(
            "target",
            "shadow",
            statement,
            measured,
            "met" if added < 10 else "missed",
            "gateway-shadow-1",
            "shadow",
        )
    ]


def target_fan_out(records: Records) -> list[Verdict]:
    verdicts = []
    statement = (
        "Fan-out: /api/dashboard/summary on the async side takes the slowest figure's time "
        "(within 1.2x), not the sum"
    )
    summary = med(records, "dashboard", "gateway-async-1", "median_s")
    parts = records.get("dashboard", {}).get("parts") or {}
    if summary is None or not parts:
        verdicts.append(not_measured("target", "dashboard", statement, "not measured"))
    else:
        slowest_path, slowest = max(parts.items(), key=lambda item: item[1])
        legacy = med(records, "dashboard", "gateway-legacy-1", "median_s")
        figure = slowest_path.removeprefix("/api/dashboard/")
        measured = (
            f"gateway-async-1 {seconds(summary)}; slowest figure alone ({figure}) "
            f"{seconds(slowest)}: {summary / slowest:.2f}x; sum of the figures "
            f"{seconds(sum(parts.values()))}"
        )
        if legacy is not None:
            measured += f"; gateway-legacy-1 {seconds(legacy)}"
        ok = summary <= FAN_OUT_WITHIN * slowest
        verdicts.append(
            Verdict(
                "target",
                "dashboard",
                statement,
                measured,
                "met" if ok else "missed",
                "gateway-async-1",
                "dashboard",
            )
        )

    statement = (
        "Fan-out: /admin/api/ingest fetches the feeds concurrently (20 feeds x 300 ms; "
        "within 1.2x of the waves its concurrency allows)"
    )
    default = med(records, "ingest", "gateway-async-1", "total_s")
    wide = med(records, "ingest", "gateway-async-1-ingest20", "total_s")
    if default is None:
        verdicts.append(not_measured("target", "ingest", statement, "not measured"))
    else:
        measured = (
            f"gateway-async-1 {seconds(default)} (INGEST_CONCURRENCY=8: 3 waves, bound 0.9 s)"
        )
        if wide is not None:
            measured += f"; with 20 at a time {seconds(wide)} (bound: the slowest feed, 0.3 s)"
        measured += "; sum of the calls 6 s"
        for name in ("gateway-legacy-1", "legacy-sync-1"):
            sequential_s = med(records, "ingest", name, "total_s")
            if sequential_s is not None:
                measured += f"; {name} {seconds(sequential_s)}"
        ok = default <= FAN_OUT_WITHIN * 0.9 and (wide is None or wide <= FAN_OUT_WITHIN * 0.3)
        verdicts.append(
            Verdict(
                "target",
                "ingest",
                statement,
                measured,
                "met" if ok else "missed",
                "gateway-async-1",
                "ingest",
            )
        )

    statement = (
        "Fan-out: digest generation, 20 at once with a 2 s AI call, takes one AI call (within 1.2x)"
    )
    total = med(records, "digest", "gateway-async-1", "total_s")
    if total is None:
        verdicts.append(not_measured("target", "digest", statement, "not measured"))
    else:
        succeeded = all_succeeded(records, "digest", "gateway-async-1")
        measured = f"gateway-async-1: all 20 in {seconds(total)} ({total / 2:.2f} x 2 s)"
        if not succeeded:
            measured += "; NOT all succeeded"
        ok = succeeded and total <= FAN_OUT_WITHIN * 2
        verdicts.append(
            Verdict(
                "target",
                "digest",
                statement,
                measured,
                "met" if ok else "missed",
                "gateway-async-1",
                "digest",
            )
        )
    return verdicts


def route_rounds(records: Records, scenario: str, config: str, path: str) -> list[dict]:
    """One route's figures in each round of a hot-routes scenario."""
    done = rounds(records, scenario, config)
    return [r["routes"][path] for r in done if path in r.get("routes", {})]


def route_ratio(
    records: Records, scenario: str, a: str, b: str, path: str, key: str
) -> dict[str, float] | None:
    """a / b on one route, round by round (each pair measured back to back)."""
    pairs = zip(
        route_rounds(records, scenario, a, path),
        route_rounds(records, scenario, b, path),
        strict=False,
    )
    values = [x[key] / y[key] for x, y in pairs if x.get(key) and y.get(key)]
    return spread(values) if values else None


def route_median(records: Records, scenario: str, config: str, path: str, key: str) -> float | None:
    values = [r[key] for r in route_rounds(records, scenario, config, path) if r.get(key)]
    return statistics.median(values) if values else None


def target_hot_routes(records: Records) -> list[Verdict]:
    """Issue 13, point 2: CPU per request of the async half through the gateway against the
    floor app, on each route of the frontend's hot path; met only if every route is."""
    verdicts = []
    key = "cpu_ms_per_request"
    for scenario in ("hot-routes-postgresql", "hot-routes-sqlite"):
        backend = scenario.split("-", 2)[2]
        statement = (
            f"CPU per request ({backend}): the async half through the gateway within 1.5x of "
            "the floor (a minimal FastAPI app running the same statements with the same "
            "driver and orjson, same run) on each of the five routes of the frontend's hot "
            "path"
        )
        paths = records.get(scenario, {}).get("routes") or []
        measured, worst, missing = [], 0.0, []
        for path in paths:
            r = route_ratio(records, scenario, "gateway-async-1", "floor-1", path, key)
            if r is None:
                missing.append(path)
                continue
            ours = route_median(records, scenario, "gateway-async-1", path, key)
            floor = route_median(records, scenario, "floor-1", path, key)
            measured.append(
                f"`{path}` {fmt_ratio(r)} ({ours or math.nan:.2f} vs {floor or math.nan:.2f} ms)"
            )
            worst = max(worst, r["median"])
        if not measured:
            verdicts.append(not_measured("target", scenario, statement, "not measured"))
            continue
        text = "gateway-async-1 / floor-1: " + "; ".join(measured)
        if missing:
            text += "; not measured: " + ", ".join(f"`{p}`" for p in missing)
        met = not missing and worst <= CPU_FLOOR_WITHIN
        verdicts.append(
            Verdict(
                "target",
                scenario,
                statement,
                text,
                "met" if met else "missed",
                "gateway-async-1",
                f"cpu-floor-{backend}",
            )
        )
    return verdicts


def target_summary_cpu(records: Records) -> list[Verdict]:
    statement = (
        "CPU per request: /api/dashboard/summary on the async half costs at most 5 ms of "
        "server CPU (PostgreSQL; issue 13)"
    )
    key = "cpu_ms_per_request"
    cost = med(records, "dashboard-cpu", "gateway-async-1", key)
    if cost is None:
        return [not_measured("target", "dashboard-cpu", statement, "not measured")]
    values = [r[key] for r in rounds(records, "dashboard-cpu", "gateway-async-1") if r.get(key)]
    measured = f"gateway-async-1 {cost:.2f} ms ({min(values):.2f}..{max(values):.2f})"
    for other in ("async-api-1", "gateway-legacy-1", "legacy-sync-1"):
        value = med(records, "dashboard-cpu", other, key)
        if value is not None:
            measured += f"; {other} {value:.2f} ms"
    return [
        Verdict(
            "target",
            "dashboard-cpu",
            statement,
            measured,
            "met" if cost <= SUMMARY_CPU_MS else "missed",
            "gateway-async-1",
            "dashboard-cpu",
        )
    ]


TARGETS: dict[str, Callable[[Records], list[Verdict]]] = {
    "audit10": target_seed_scenario,
    "burst1000": target_thousand,
    "throughput-postgresql": lambda r: (
        target_db_throughput(r)
        + target_gateway_overhead({k: v for k, v in r.items() if k == "throughput-postgresql"})
    ),
    "throughput-sqlite": lambda r: target_gateway_overhead(
        {k: v for k, v in r.items() if k == "throughput-sqlite"}
    ),
    "hot-routes-postgresql": target_hot_routes,
    "hot-routes-sqlite": target_hot_routes,
    "dashboard-cpu": target_summary_cpu,
    "shadow": target_shadow,
    "dashboard": lambda r: target_fan_out({k: v for k, v in r.items() if k == "dashboard"}),
    "ingest": lambda r: target_fan_out({k: v for k, v in r.items() if k == "ingest"}),
    "digest": lambda r: target_fan_out({k: v for k, v in r.items() if k == "digest"}),
    "jobs-drain": target_jobs_drain,
}


def targets_for(scenario: str, records: Records) -> list[Verdict]:
    """The verdicts a scenario's record decides, leaving out those about other scenarios."""
    judge = TARGETS.get(scenario)
    if judge is None:
        return []
    return [v for v in judge(records) if v.scenario == scenario]


# -- the audit's claims ------------------------------------------------------------------------


def _first(records: Records, scenario: str, *configs: str) -> str | None:
    return next((c for c in configs if rounds(records, scenario, c)), None)


def audit_claims(records: Records, *, new_loop_ms: float | None = None) -> list[Verdict]:
    claims = []
    after = "gateway-async-1"

    statement = "↑ 2-3x throughput (requests/sec): Flask with run_async() -> FastAPI"
    measured = []
    low = None
    for scenario in ("throughput-sqlite", "throughput-postgresql"):
        r = ratio(records, scenario, after, "before-run-async-1", "rps")
        if r is not None:
            backend = scenario.split("-", 1)[1]
            measured.append(f"{backend}: {fmt_ratio(r)}")
            low = r["median"] if low is None else min(low, r["median"])
            bridged = ratio(records, scenario, after, "legacy-sync-1", "rps")
            if bridged is not None:
                measured[-1] += f" (vs today's legacy on the shared loop: {fmt_ratio(bridged)})"
    claims.append(
        _claim(
            "throughput-sqlite",
            statement,
            measured,
            None if low is None else low >= 2,
            exceeded=low is not None and low > 3,
        )
    )

    statement = "↓ 40-60% latency under parallel requests"
    measured, low = [], None
    before = med(records, "audit10", "before-run-async-1", "p50_s")
    now = med(records, "audit10", after, "p50_s")
    if before and now:
        cut = 1 - now / before
        measured.append(f"10 at once, p50 {seconds(before)} -> {seconds(now)}: -{cut * 100:.0f}%")
        low = cut
    for scenario in ("throughput-sqlite", "throughput-postgresql"):
        b = med(records, scenario, "before-run-async-1", "p50_ms")
        a = med(records, scenario, after, "p50_ms")
        if b and a:
            cut = 1 - a / b
            measured.append(
                f"{scenario.split('-', 1)[1]} at 32 connections, p50 {b:.0f} -> {a:.0f} ms: "
                f"-{cut * 100:.0f}%"
            )
            low = cut if low is None else min(low, cut)
    claims.append(
        _claim(
            "audit10",
            statement,
            measured,
            None if low is None else low >= 0.4,
            exceeded=low is not None and low > 0.6,
        )
    )

    statement = "↑ 5-10x on AI / external API calls"
    measured, low = [], None
    base = _first(records, "digest", "before-run-async-1", "legacy-sync-1")
    if base is not None and rounds(records, "digest", after):
        r = ratio(records, "digest", base, after, "total_s")
        if r is not None:
            measured.append(f"20 digests at once: {base} / {after} = {fmt_ratio(r)}")
            low = r["median"]
    verdict = _claim(
        "digest",
        statement,
        measured,
        None if low is None else low >= 5,
        exceeded=low is not None and low > 10,
    )
    if records.get("ingest"):
        # Both halves (and the "before" app, built from the legacy views) ask for the same
        # ingest job, which fetches concurrently: their times compare the job with itself.
        verdict.measured += (
            "; ingest is not compared: every configuration asks for the same ingest job "
            "(shared/ingest.py), which fetches the feeds concurrently"
        )
    claims.append(verdict)

    statement = "Ten parallel 500 ms requests: 5,000 ms on sync Flask, 500 ms on async"
    b = med(records, "audit10", "before-run-async-1", "total_s")
    a = med(records, "audit10", after, "total_s")
    measured = [f"before {seconds(b)}, after {seconds(a)}"] if a and b else []
    holds = None if not (a and b) else (4.5 <= b <= 6.0 and a <= 0.6)
    claims.append(_claim("audit10", statement, measured, holds))

    statement = "run_async() costs +50-100 ms per call (a new event loop each time)"
    measured, values = [], []
    for scenario in ("throughput-sqlite", "throughput-postgresql"):
        b = med(records, scenario, "before-run-async-1", "rps")
        s = med(records, scenario, "legacy-sync-1", "rps")
        if b and s:
            # One sync worker serves one request at a time: 1 / rps is the time per request.
            extra = (1 / b - 1 / s) * 1000
            values.append(extra)
            measured.append(
                f"{scenario.split('-', 1)[1]}: {1000 / b:.1f} ms vs {1000 / s:.1f} ms per "
                f"request: {extra:+.1f} ms"
            )
    if measured and new_loop_ms is not None:
        measured.append(
            f"of which the new event loop itself: {new_loop_ms:.2f} ms (the rest is the new "
            "engine, pool and connection)"
        )
    within = [50 <= v <= 100 for v in values]
    holds = None if not values else all(within)
    claims.append(_claim("throughput-sqlite", statement, measured, holds, partly=any(within)))

    statement = "Conclusion: ↑ 10-20x throughput under parallel requests, ↓ 85% latency under load"
    measured, holds = [], None
    for scenario in ("audit10", "burst100"):
        base = _first(records, scenario, "before-run-async-1", "legacy-sync-1")
        b = med(records, scenario, base, "total_s") if base else None
        a = med(records, scenario, after, "total_s")
        n = 10 if scenario == "audit10" else 100
        if a and b:
            gain = b / a
            measured.append(f"{n} at once: {n / b:.1f} -> {n / a:.1f} req/s ({gain:.1f}x)")
            holds = gain >= 10 if holds is None else holds and gain >= 10
    b99 = med(records, "audit10", "before-run-async-1", "p99_s")
    a99 = med(records, "audit10", after, "p99_s")
    if a99 and b99:
        measured.append(f"p99 {seconds(b99)} -> {seconds(a99)} (-{(1 - a99 / b99) * 100:.0f}%)")
        holds = (holds is not False) and (1 - a99 / b99) >= 0.85
    claims.append(_claim("audit10", statement, measured, holds))
    return claims


def _claim(
    scenario: str,
    statement: str,
    measured: list[str],
    holds: bool | None,
    *,
    exceeded: bool = False,
    partly: bool = False,
) -> Verdict:
    if holds is None or not measured:
        return Verdict(
            "claim",
            scenario,
            statement,
            "; ".join(measured) or "not measured in this run",
            "not measured",
        )
    status = "confirmed" if holds else ("partly confirmed" if partly else "refuted")
    if holds and exceeded:
        status = "confirmed (larger than claimed)"
    return Verdict("claim", scenario, statement, "; ".join(measured), status)
