"""The scenarios: the audit's own, and the ones the gateway's performance goals name.

Within a scenario every configuration runs back to back, round after round (A B C, A B C,
…), so that whatever else the machine is doing weighs on all of them alike.
"""

from __future__ import annotations

import asyncio
import math
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx
from sqlalchemy.engine import make_url

from bench.configs import CONFIGURATIONS, Configuration
from bench.cpu import CpuMeter
from bench.loadgen import RequestSpec, burst, paced, sequential, throughput
from bench.modes import Mode
from bench.private_postgres import BACKEND as BURST_BACKEND
from bench.private_postgres import HEADROOM as BURST_HEADROOM
from bench.private_postgres import MAX_CONNECTIONS as BURST_MAX_CONNECTIONS
from bench.processes import ProcessRegistry
from bench.servers import ADMIN_TOKEN, Profile, Server, ServerPool, Stubs
from shared.database.engine import normalize_url

# The burst profiles size the pool by Little's law (docs/architecture.md, "Injected
# latency and the pool"): a query holds its connection for the injected latency, so N
# requests at once finish in one wave with N connections (the pool has no overflow).
LATENCY_500 = Profile("latency500", latency_ms=500, pool_size=100)  # burst100: 100 at once
# 1,000 at once: 1,000 connections, on a private PostgreSQL server that allows them.
LATENCY_500_PG_BURST = Profile(
    "latency500-pg-pool1000",
    backend=BURST_BACKEND,
    latency_ms=500,
    pool_size=1000,
    backend_label=f"postgresql (a private server, max_connections={BURST_MAX_CONNECTIONS})",
)
LATENCY_100 = Profile("latency100", latency_ms=100, pool_size=50)
PLAIN = Profile("plain")
PLAIN_PG = Profile("plain-pg", backend="postgresql", pool_size=5)  # max_connections is 100

LATEST = RequestSpec("/api/news/latest")
POOL_TIMEOUT_S = 5.0  # DB_POOL_TIMEOUT_SECONDS's default, which the servers keep
# The frontend's hot path: the five hottest read routes, as the frontend asks for them
# (the user-scoped ones for user 1, trusted without a Telegram bot token).
HOT_ROUTES = (
    "/api/news/latest",
    "/api/news",
    "/api/subscriptions?user_id=1",
    "/api/events/",
    "/webapp/api/feed?user_id=1",
)
AUTH = (("Authorization", f"Bearer {ADMIN_TOKEN}"),)


class Reporter(Protocol):
    def scenario(self, title: str, steps: int) -> None: ...
    def step(self, text: str) -> None: ...
    def log(self, text: str) -> None: ...


@dataclass
class Context:
    mode: Mode
    pool: ServerPool
    registry: ProcessRegistry
    stubs: Stubs
    reporter: Reporter
    docs_dir: Path
    unavailable_backends: dict[str, str] = field(default_factory=dict)
    burst_client: str = "raw"
    force_python_load: bool = False
    drain_jobs: int | None = None  # jobs-drain: None means the mode's
    drain_setups: tuple[tuple[int, int], ...] = ()  # jobs-drain: (processes, concurrency)
    ai_delay_s: float = 2.0  # what the OpenAI stand-in takes per completion


def configs(*names: str) -> list[Configuration]:
    return [CONFIGURATIONS[name] for name in names]


def spread(values: list[float]) -> dict[str, float]:
    clean = [v for v in values if v is not None and not math.isnan(v)]
    if not clean:
        return {"median": math.nan, "min": math.nan, "max": math.nan}
    return {"median": statistics.median(clean), "min": min(clean), "max": max(clean)}


class Scenario:
    name = ""
    title = ""
    question = ""
    kind = ""  # burst | throughput | paced | sequential | single
    profile = PLAIN
    request = LATEST
    core: tuple[str, ...] = ()  # every mode
    extra: tuple[str, ...] = ()  # --full only

    def configurations(self, mode: Mode) -> list[Configuration]:
        return configs(*self.core, *(self.extra if mode.full_set else ()))

    def expected_s(self, config: Configuration) -> float | None:
        """How long one measurement should take, when it can be known beforehand."""
        return None

    def skip_reason(self, config: Configuration, mode: Mode) -> str | None:
        expected = self.expected_s(config)
        if expected is not None and expected > mode.time_cap_s:
            return (
                f"skipped in {mode.name} mode: expected about {expected:.0f} s per round "
                f"({self.expectation(config)}), over the {mode.time_cap_s:.0f} s cap"
            )
        return None

    def expectation(self, config: Configuration) -> str:
        return ""

    def rounds_for(self, config: Configuration, mode: Mode) -> int:
        expected = self.expected_s(config)
        if expected is not None and expected > mode.slow_after_s:
            return min(mode.rounds, mode.slow_rounds)
        return mode.rounds

    def needs(self, mode: Mode) -> set[tuple[str, str]]:
        return {
            (c.name, self.profile.name)
            for c in self.configurations(mode)
            if self.skip_reason(c, mode) is None
        }

    def settings(self) -> str:
        return self.profile.describe()

    # -- running --------------------------------------------------------------------------
    def run(self, ctx: Context) -> tuple[dict[str, Any], dict[str, Server]]:
        record, to_run = self.new_record(ctx)
        if not to_run:
            return record, {}
        steps = sum(self.rounds_for(c, ctx.mode) for c in to_run)
        ctx.reporter.scenario(self.title, steps + 2)
        servers = self.run_group(ctx, record, to_run)
        self.finish(ctx, servers, record)
        return record, servers

    def new_record(self, ctx: Context) -> tuple[dict[str, Any], list[Configuration]]:
        """The scenario's record, a row per configuration, and the configurations to run."""
        mode = ctx.mode
        record: dict[str, Any] = {
            "name": self.name,
            "title": self.title,
            "question": self.question,
            "kind": self.kind,
            "settings": self.settings(),
            "request": f"{self.request.method} {self.request.path}",
            "rows": {},
            "notes": [],
        }
        to_run = []
        for config in self.configurations(mode):
            row = record["rows"][config.name] = {
                "label": config.label,
                "shape": config.shape,
                "rounds": [],
                "skipped": self.skip_reason(config, mode),
            }
            problem = ctx.unavailable_backends.get(self.profile.backend)
            if problem:
                row["skipped"] = problem
            if row["skipped"] is None:
                to_run.append(config)
        return record, to_run

    def run_group(
        self, ctx: Context, record: dict[str, Any], to_run: list[Configuration]
    ) -> dict[str, Server]:
        """Start `to_run` (those not running yet), warm them up, and measure them round
        after round, back to back; the servers, still running."""
        mode = ctx.mode
        ctx.reporter.step(f"starting {len(to_run)} server(s) ({self.settings()})")
        began = time.monotonic()
        servers, failures = ctx.pool.acquire(to_run, self.profile)
        waited = time.monotonic() - began
        ctx.reporter.log(f"{len(servers)} server(s) answering after {waited:.0f} s")
        for name, problem in failures.items():
            record["rows"][name]["skipped"] = f"did not start: {problem.splitlines()[0]}"
            ctx.reporter.log(f"[red]{name} did not start[/]: {problem}")
        self.prepare(ctx, servers, record)
        for round_number in range(mode.rounds):
            for config in to_run:
                server = servers.get(config.name)
                row = record["rows"][config.name]
                if (
                    server is None
                    or row["skipped"]
                    or row.get("stopped")
                    or round_number >= self.rounds_for(config, mode)
                ):
                    continue
                ctx.reporter.step(f"{config.name}, round {round_number + 1}")
                with CpuMeter(server.process.pid) as cpu:
                    figures = self.measure(ctx, server)
                figures.update(cpu.figures(self.served(figures)))
                row["rounds"].append(figures)
                ctx.reporter.log(
                    f"{self.name} {config.name} r{round_number + 1}: {self.brief(figures)}"
                )
                if figures.get("ok", 0) < figures.get("n", 0):
                    # A configuration that fails is shown failing once, not timed out again.
                    row["stopped"] = (
                        f"not repeated after round {round_number + 1}: "
                        f"{figures['ok']} of {figures['n']} answered 2xx"
                    )
        return servers

    def prepare(self, ctx: Context, servers: dict[str, Server], record: dict[str, Any]) -> None:
        """Warm every server up (all at once): first requests import, connect, fill caches."""
        warm_up(servers, self.warmup_request, 1)

    def warmup_request(self, server: Server) -> RequestSpec:
        return RequestSpec("/sleep") if server.config.kind == "sleep" else self.request

    def measure(self, ctx: Context, server: Server) -> dict[str, Any]:
        raise NotImplementedError

    def served(self, figures: dict[str, Any]) -> int:
        """Requests the server answered (or failed) in one measurement: what its CPU time
        is divided by."""
        return int(figures.get("requests", figures.get("n", 0)))

    def load(self, ctx: Context, server: Server) -> Callable[[], None]:
        """One unit of this scenario's load on `server`, for profiling."""
        return lambda: self.measure(ctx, server) and None

    def finish(self, ctx: Context, servers: dict[str, Server], record: dict[str, Any]) -> None:
        pass

    def brief(self, figures: dict[str, Any]) -> str:
        return ", ".join(
            f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
            for k, v in figures.items()
            if k in BRIEF
        )


# The figures of a measurement that the progress log shows.
BRIEF = (
    "total_s",
    "p50_s",
    "p99_s",
    "ok",
    "rps",
    "p50_ms",
    "p99_ms",
    "errors",
    "cpu_ms_per_request",
)


def warm_up(
    servers: dict[str, Server], request: Callable[[Server], RequestSpec], count: int
) -> None:
    """`count` requests to every server, the servers in parallel."""
    with ThreadPoolExecutor(max_workers=max(1, len(servers))) as pool:
        jobs = [pool.submit(sequential, s.url, request(s), count) for s in servers.values()]
        for job in jobs:
            job.result()


# -- bursts: N at once, how long until all are done -------------------------------------------


class Burst(Scenario):
    kind = "burst"
    n = 10
    per_request_s = 0.5  # what one request waits for (the injected DB latency, the AI)

    def settings(self) -> str:
        return f"{self.n} at once; {self.profile.describe()}"

    def slots(self, config: Configuration) -> int | None:
        """Requests that can wait on the database at once: the configuration's own bound
        (workers x threads) within its pools (DB_POOL_SIZE per process, no overflow: each
        query holds a connection while it waits); None for the sleep endpoint."""
        if config.kind == "sleep":
            return None
        pool = int(config.env.get("DB_POOL_SIZE", self.profile.pool_size)) * config.workers
        return min(config.slots or pool, pool)

    def expected_s(self, config: Configuration) -> float | None:
        slots = self.slots(config)
        if not slots:
            return self.per_request_s
        waves = self.per_request_s * math.ceil(self.n / slots)
        if config.slots is None or slots < config.slots:
            # Bound by the pool: a query waits DB_POOL_TIMEOUT_SECONDS at most, then 503.
            return min(waves, POOL_TIMEOUT_S + self.per_request_s)
        return waves

    def expectation(self, config: Configuration) -> str:
        return f"{self.n} requests / {self.slots(config)} at a time x {self.per_request_s:g} s"

    def request_for(self, server: Server) -> RequestSpec:
        return RequestSpec("/sleep") if server.config.kind == "sleep" else self.request

    def measure(self, ctx: Context, server: Server) -> dict[str, Any]:
        # A request unanswered well past its expected time is a failure, not a wait.
        patience = max(15.0, 3 * (self.expected_s(server.config) or 5.0))
        result = burst(
            server.url,
            self.request_for(server),
            self.n,
            timeout=patience,
            client=ctx.burst_client,
        )
        return result.figures()


class AuditTen(Burst):
    name = "audit10"
    title = "a. The audit's scenario: 10 concurrent GET /api/news/latest, 500 ms DB"
    question = (
        "Ten requests arrive at once and each one's database call takes 500 ms. How long "
        "until all ten are answered? (the audit: 5 s on sync Flask, 500 ms on async)"
    )
    profile = LATENCY_500
    n = 10
    core = (
        "before-run-async-1",
        "legacy-sync-1",
        "legacy-gthread-1x32",
        "legacy-gevent-1",
        "before-run-async-gevent-1",
        "gateway-legacy-1",
        "gateway-async-1",
        "async-api-1",
    )
    extra = ("legacy-sync-2",)


class BurstHundred(Burst):
    name = "burst100"
    title = "b. 100 concurrent GET /api/news/latest, 500 ms DB"
    question = "The same, with 100 at once."
    profile = LATENCY_500
    n = 100
    core = (
        "legacy-gthread-1x32",
        "legacy-gevent-1",
        "gateway-async-1",
        "sleep-1",
        "legacy-sync-1",
        "before-run-async-1",
    )
    extra = (
        "gateway-async-1-pool10",  # ten waves of ten: --full runs only (quick under 5 min)
        "gateway-legacy-1",
        "async-api-1",
        "legacy-gthread-2x16",
        "legacy-sync-2",
    )


class BurstThousand(Burst):
    name = "burst1000"
    title = (
        "b. 1,000 concurrent GET /api/news/latest, 500 ms DB (PostgreSQL), vs a bare 500 ms sleep"
    )
    question = (
        "1,000 at once on one worker, on PostgreSQL. The injected latency holds a pooled "
        "connection, like a slow query, so the pool is sized for the burst "
        "(DB_POOL_SIZE=1000: 1,000 requests in flight x 0.5 s each / 0.5 s) on a private "
        f"server that allows {BURST_MAX_CONNECTIONS} connections; every server is warmed "
        "up with a burst of its own first, so the measured rounds open no connection. The "
        "floor is a bare FastAPI endpoint that only sleeps 500 ms, measured in the same run."
    )
    profile = LATENCY_500_PG_BURST
    n = 1000
    subject = "gateway-async-1"
    core = ("sleep-1", "gateway-async-1")
    # One server holding 1,000 connections at a time: in --full runs the others are
    # measured in groups before the subject's (see `groups`).
    extra = (
        "gateway-async-1-pool10",
        "async-api-1",
        "legacy-gevent-1",
        "gateway-legacy-1",
        "legacy-gthread-1x32",
        "legacy-sync-1",
        "gateway-async-1-pool10",
        "legacy-gthread-2x16",
    )

    def connections(self, config: Configuration) -> int:
        """Connections a server opens for this burst: one per request waiting at once."""
        return min(self.n, self.slots(config) or 0)

    def groups(self, to_run: list[Configuration]) -> list[list[Configuration]]:
        """The configurations in groups whose connections fit the server at once, the
        subject's group (with the sleep endpoint, measured beside it) last."""
        budget = BURST_MAX_CONNECTIONS - BURST_HEADROOM
        last = [c for c in to_run if c.kind == "sleep" or c.name == self.subject]
        used = sum(self.connections(c) for c in last)
        groups: list[list[Configuration]] = []
        current: list[Configuration] = []
        current_used = 0
        for config in to_run:
            if config in last:
                continue
            need = self.connections(config)
            if used + need <= budget:  # it fits beside the subject
                last.append(config)
                used += need
                continue
            if current and current_used + need > budget:
                groups.append(current)
                current, current_used = [], 0
            current.append(config)
            current_used += need
        if current:
            groups.append(current)
        return [*groups, last]

    def run(self, ctx: Context) -> tuple[dict[str, Any], dict[str, Server]]:
        record, to_run = self.new_record(ctx)
        if not to_run:
            return record, {}
        groups = self.groups(to_run)
        steps = sum(self.rounds_for(c, ctx.mode) for c in to_run)
        ctx.reporter.scenario(self.title, steps + 2 * len(groups))
        record["pool_size"] = self.profile.pool_size
        record["max_connections"] = BURST_MAX_CONNECTIONS
        record["connections"] = {}
        if len(groups) > 1:
            earlier = ", ".join(f"`{c.name}`" for group in groups[:-1] for c in group)
            record["notes"].append(
                f"measured in groups of at most {BURST_MAX_CONNECTIONS - BURST_HEADROOM} "
                f"connections, one group after the other: {earlier} before `{self.subject}` "
                "and `sleep-1`, so their ratios to `sleep-1` pair rounds a minute or so "
                "apart, not seconds"
            )
        servers: dict[str, Server] = {}
        for group in groups:
            for server in servers.values():  # the previous group's, connections and all
                ctx.pool.stop(server)
            servers = self.run_group(ctx, record, group)
            for name, count in self.open_connections(ctx, servers).items():
                record["connections"].setdefault(name, {})["after_rounds"] = count
        self.finish(ctx, servers, record)
        return record, servers

    def prepare(self, ctx: Context, servers: dict[str, Server], record: dict[str, Any]) -> None:
        """A burst of its own to every server first (one after the other, so that each
        has the machine), opening as many pooled connections as the measured bursts use."""
        held: dict[str, int] = {}
        for name, server in servers.items():
            count = self.connections(server.config) or 1
            # A request that finds a connection back in the pool takes it instead of
            # opening one, so one burst opens a few less than it has requests: again until
            # the count stops rising.
            for _ in range(3):
                ctx.reporter.log(f"warming {name} up with {count} at once")
                burst(
                    server.url, self.request_for(server), count, timeout=60, client=ctx.burst_client
                )
                now = self.open_connections(ctx, {name: server}).get(name)
                if now is None or now == held.get(name) or count < 100:
                    break
                held[name] = now
            if now is not None:
                held[name] = now
        for name, count in held.items():
            record["connections"].setdefault(name, {})["warm"] = count
        if ctx.mode.full_set and "sleep-1" in servers:
            # How much the client itself costs at this concurrency: raw asyncio vs httpx.
            ctx.reporter.step("calibrating the burst clients on the sleep endpoint")
            floor = servers["sleep-1"]
            record["calibration"] = {
                client: burst(floor.url, RequestSpec("/sleep"), self.n, client=client).figures()
                for client in ("raw", "httpx")
            }

    def open_connections(self, ctx: Context, servers: dict[str, Server]) -> dict[str, int]:
        """Connections each server holds on the database server (pg_stat_activity)."""
        backend = ctx.pool.backends.get(self.profile.backend)
        databases = {
            name: make_url(server.database_url).database
            for name, server in servers.items()
            if server.config.kind != "sleep"
        }
        if backend is None or not databases:
            return {}
        try:
            counts = asyncio.run(_connections_by_database(backend.base_url))
        except Exception as exc:  # a figure for the report, not a reason to stop
            ctx.reporter.log(f"[yellow]could not count connections: {exc!r}[/]")
            return {}
        return {name: counts.get(database or "", 0) for name, database in databases.items()}


async def _connections_by_database(base_url: str) -> dict[str, int]:
    import asyncpg

    url = make_url(normalize_url(base_url)).set(drivername="postgresql")
    conn = await asyncpg.connect(url.render_as_string(hide_password=False))
    try:
        rows = await conn.fetch(
            "SELECT datname, count(*) AS n FROM pg_stat_activity "
            "WHERE datname IS NOT NULL GROUP BY datname"
        )
    finally:
        await conn.close()
    return {row["datname"]: int(row["n"]) for row in rows}


# -- throughput: closed loop with wrk ---------------------------------------------------------


class Throughput(Scenario):
    kind = "throughput"
    connections = 32
    specs: tuple[RequestSpec, ...] = (LATEST,)

    def settings(self) -> str:
        return f"{self.connections} connections; {self.profile.describe()}"

    def measure(self, ctx: Context, server: Server) -> dict[str, Any]:
        return self._load(ctx, server, ctx.mode.duration_s).figures()

    def _load(self, ctx: Context, server: Server, seconds: float) -> Any:
        return throughput(
            ctx.registry,
            server.url,
            self.specs_for(server),
            connections=self.connections,
            duration=seconds,
            force_python=ctx.force_python_load,
        )

    def specs_for(self, server: Server) -> tuple[RequestSpec, ...]:
        return self.specs

    def prepare(self, ctx: Context, servers: dict[str, Server], record: dict[str, Any]) -> None:
        warm_up(servers, lambda server: self.specs_for(server)[0], 20)

    def load(self, ctx: Context, server: Server) -> Callable[[], None]:
        return lambda: self._load(ctx, server, ctx.mode.profile_s) and None


class ThroughputSQLite(Throughput):
    name = "throughput-sqlite"
    title = "c. DB-bound throughput, SQLite: GET /api/news/latest, no injected latency"
    question = "Requests per second and latency under a closed loop of 32 connections."
    profile = PLAIN
    core = (
        "before-run-async-1",
        "legacy-sync-1",
        "legacy-gthread-1x32",
        "gateway-legacy-1",
        "gateway-async-1",
        "gateway-retired-1",
        "async-api-1",
    )
    extra = (
        "floor-1",  # in quick mode, the floor is measured on the hot path (hot-routes-*)
        "legacy-sync-2",
        "legacy-gthread-2x16",
        "legacy-gevent-1",
        "gateway-legacy-2",
        "gateway-async-2",
        "async-api-2",
    )


PG_TWO_WORKERS = ("gateway-async-2", "legacy-sync-2", "legacy-gthread-2x16")


class ThroughputPostgres(ThroughputSQLite):
    name = "throughput-postgresql"
    title = "c. DB-bound throughput, PostgreSQL: GET /api/news/latest, no injected latency"
    profile = PLAIN_PG
    # Issue 13, point 3 at 1 and at 2 workers: the 2-worker async, sync and gthread
    # configurations are measured in every mode.
    core = (*ThroughputSQLite.core, *PG_TWO_WORKERS)
    extra = tuple(name for name in ThroughputSQLite.extra if name not in PG_TWO_WORKERS)


class HotRoutesSQLite(Throughput):
    """Server CPU per request on each route of the frontend's hot path, one route at a
    time (its own wrk run and CPU reading), the configurations back to back as ever."""

    name = "hot-routes-sqlite"
    kind = "hot"
    title = "c. CPU per request on the frontend's hot path, SQLite: five read routes"
    question = (
        "The five hottest read routes, each in turn under a closed loop of 32 connections "
        "(one wrk run per route), and the server's CPU time over the requests it answered "
        "on that route. `floor-1` answers each route with the same statements on the same "
        "driver, FastAPI and orjson, nothing else (the smoke test checks that its answers "
        "are the async half's); in `--full` runs `legacy-sync-1` gives the legacy half's "
        "figure per route, which must not rise."
    )
    profile = PLAIN
    specs = tuple(RequestSpec(path) for path in HOT_ROUTES)
    core = ("gateway-async-1", "floor-1")
    # Context, in --full runs: the legacy half per route (quick runs show its CPU on
    # GET /api/news/latest in the throughput scenarios) and the async half bare.
    extra = ("legacy-sync-1", "async-api-1")
    judged = core

    def settings(self) -> str:
        return f"{self.connections} connections, one route at a time; {self.profile.describe()}"

    def rounds_for(self, config: Configuration, mode: Mode) -> int:
        if config.name in self.judged or mode.full_set:
            return mode.rounds
        return min(mode.rounds, 1)

    def route_seconds(self, mode: Mode) -> float:
        """One route's wrk run: shorter than a throughput run (five of them per round);
        CPU time per request needs fewer requests than requests per second does."""
        return max(1.0, mode.duration_s / 2) if not mode.full_set else mode.duration_s

    def measure(self, ctx: Context, server: Server) -> dict[str, Any]:
        routes: dict[str, dict[str, Any]] = {}
        for spec in self.specs:
            with CpuMeter(server.process.pid) as cpu:
                result = throughput(
                    ctx.registry,
                    server.url,
                    (spec,),
                    connections=self.connections,
                    duration=self.route_seconds(ctx.mode),
                    force_python=ctx.force_python_load,
                )
            figures = result.figures()
            figures.update(cpu.figures(result.requests))
            routes[spec.path] = figures
        requests = sum(r["requests"] for r in routes.values())
        return {
            "routes": routes,
            "requests": requests,
            "errors": sum(r["errors"] for r in routes.values()),
            "rps": statistics.median(r["rps"] for r in routes.values()),
        }

    def prepare(self, ctx: Context, servers: dict[str, Server], record: dict[str, Any]) -> None:
        record["routes"] = list(HOT_ROUTES)
        record["request"] = "GET " + ", ".join(HOT_ROUTES)
        for spec in self.specs:
            warm_up(servers, lambda _server, spec=spec: spec, 5)
        # Then a second of the measured load over all five routes: the pool's connections
        # (and the driver's prepared statements on each) are opened here, not inside the
        # first route's measurement.
        for server in servers.values():
            throughput(
                ctx.registry,
                server.url,
                self.specs,
                connections=self.connections,
                duration=1,
                force_python=ctx.force_python_load,
            )


class HotRoutesPostgres(HotRoutesSQLite):
    name = "hot-routes-postgresql"
    title = "c. CPU per request on the frontend's hot path, PostgreSQL: five read routes"
    profile = PLAIN_PG


MIXED_CANDIDATES = (
    "/api/news/latest?limit=20",
    "/api/news?limit=20",
    "/api/news/top?limit=10",
    "/api/news/trending",
    "/api/news/search?q=bitcoin",
    "/api/news/category/crypto?limit=10",
    "/api/news/stats",
    "/api/news/1",
    "/api/categories",
    "/api/sources",
    "/api/events/upcoming",
    "/api/events/",
    "/api/events/today",
    "/api/events/categories",
    "/api/dashboard/news/today",
    "/api/dashboard/news/by-category",
    "/api/dashboard/summary",
    "/api/subscriptions?user_id=1",
    "/api/users/1",
    "/api/bookmarks?user_id=1",
    "/api/notifications?user_id=1",
    "/api/digest/history?user_id=1",
    "/api/digest/options",
    "/api/config/features",
    "/api/analytics/popular-categories",
    "/webapp/api/feed?user_id=1",
)


class MixedReads(Throughput):
    name = "mixed"
    title = "d. Mixed read workload over many endpoints (SQLite)"
    question = (
        "wrk walks a list of read endpoints in turn; an endpoint that any configuration "
        "does not serve with a 2xx (404/405 'no such endpoint' while routes are still being "
        "written) is left out for all of them, and listed."
    )
    profile = PLAIN
    core = ("legacy-gthread-1x32", "gateway-legacy-1", "gateway-async-1")
    extra = ("legacy-sync-1", "async-api-1", "gateway-async-2")

    def prepare(self, ctx: Context, servers: dict[str, Server], record: dict[str, Any]) -> None:
        kept, left_out = [], {}
        for path in MIXED_CANDIDATES:
            answers = {name: _probe(server.url, path) for name, server in servers.items()}
            if all(a.startswith("2") for a in answers.values()):
                kept.append(path)
            else:
                left_out[path] = {n: a for n, a in answers.items() if not a.startswith("2")}
        self.specs = tuple(RequestSpec(p) for p in kept) or (LATEST,)
        record["endpoints"] = kept
        record["left_out"] = left_out
        record["request"] = f"GET over {len(kept)} endpoints"
        super().prepare(ctx, servers, record)


def _probe(base_url: str, path: str) -> str:
    try:
        response = httpx.get(base_url + path, timeout=30)
    except httpx.HTTPError as exc:
        return type(exc).__name__
    code = response.status_code
    if code < 400:
        return str(code)
    try:
        message = str(response.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        message = response.text[:80]
    if code == 405 or message == "no such endpoint":
        return f"{code} no such endpoint"
    return f"{code} {message}"


class ShadowCost(Throughput):
    name = "shadow"
    title = "h. Shadow mode on vs off: GET /api/news/latest on legacy vs on shadow"
    question = (
        "The primary (Flask) answer's latency with news.latest_news on legacy and on "
        "shadow (sample rate 1: every request is also replayed to FastAPI off the critical "
        "path and compared). Moderate load: an open loop at a fixed 100 requests/s (about "
        "a sixth of what one worker serves); then a saturating closed loop of 8 "
        "connections, where the shadow's CPU time shows as lost throughput."
    )
    kind = "paced"
    profile = PLAIN
    connections = 8
    rate = 100.0
    core = ("gateway-legacy-1", "gateway-shadow-1")

    def settings(self) -> str:
        return (
            f"{self.rate:.0f} requests/s open loop, then {self.connections} connections "
            f"closed loop; {self.profile.describe()}"
        )

    def measure(self, ctx: Context, server: Server) -> dict[str, Any]:
        moderate = paced(server.url, self.request, rate=self.rate, seconds=ctx.mode.paced_s)
        figures = moderate.figures()
        figures["p50_ms"] = figures["p50_s"] * 1000
        figures["p99_ms"] = figures["p99_s"] * 1000
        saturated = self._load(ctx, server, ctx.mode.duration_s)
        figures["saturated_rps"] = saturated.rps
        figures["saturated_p50_ms"] = saturated.p50_ms
        figures["saturated_requests"] = saturated.requests
        return figures

    def served(self, figures: dict[str, Any]) -> int:
        return int(figures["n"] + figures["saturated_requests"])

    def load(self, ctx: Context, server: Server) -> Callable[[], None]:
        return lambda: paced(server.url, self.request, rate=self.rate, seconds=2) and None

    def finish(self, ctx: Context, servers: dict[str, Server], record: dict[str, Any]) -> None:
        shadow = servers.get("gateway-shadow-1")
        if shadow is None:
            return
        try:
            status = httpx.get(shadow.url + "/_gateway/status", timeout=30).json()
            route = next(r for r in status["routes"] if r["id"] == "news.latest_news")
            record["shadow_parity"] = route.get("parity")
        except (httpx.HTTPError, ValueError, KeyError, StopIteration) as exc:
            record["notes"].append(f"could not read /_gateway/status: {exc!r}")


# -- one at a time: the fan-out endpoints -----------------------------------------------------


class DashboardSummary(Scenario):
    name = "dashboard"
    title = "e. GET /api/dashboard/summary, 100 ms per query"
    question = (
        "One request at a time on an idle server. The summary is nine independent figures: "
        "legacy runs their ten queries one after the other; the async half runs three "
        "statements at once (the one-row figures side by side, the counts by key stacked, "
        "and the activity page)."
    )
    kind = "sequential"
    profile = LATENCY_100
    request = RequestSpec("/api/dashboard/summary")
    core = ("legacy-sync-1", "gateway-async-1")
    extra = ("before-run-async-1", "gateway-legacy-1", "async-api-1")

    def settings(self) -> str:
        return f"one request at a time; {self.profile.describe()}"

    def measure(self, ctx: Context, server: Server) -> dict[str, Any]:
        result = sequential(server.url, self.request, ctx.mode.sequential)
        figures = result.figures()
        figures["median_s"] = figures["p50_s"]
        return figures

    def finish(self, ctx: Context, servers: dict[str, Server], record: dict[str, Any]) -> None:
        record["figures"] = summary_figure_count()
        record["query_latency_s"] = self.profile.latency_ms / 1000
        server = servers.get("gateway-async-1")
        if server is None:
            return
        # "The slowest call": each figure of the summary alone, from its own endpoint.
        ctx.reporter.step("each figure of the summary alone (gateway-async-1)")
        record["parts"] = {
            path: spread(
                sequential(server.url, RequestSpec(path), ctx.mode.sequential).latencies_s
            )["median"]
            for path in SUMMARY_PARTS
        }


SUMMARY_PARTS = tuple(
    f"/api/dashboard/{part}"
    for part in (
        "news/today",
        "news/week",
        "news/by-category",
        "news/by-source",
        "events/upcoming",
        "users",
        "subscriptions",
        "digests",
        "activity",
    )
)


class DashboardCpu(Throughput):
    name = "dashboard-cpu"
    title = "e. CPU per GET /api/dashboard/summary, PostgreSQL, no injected latency"
    question = (
        "What one summary costs the server in CPU time: a closed loop of 2 connections, "
        "the server's CPU time over the summaries it answered. Two, so that the async "
        "half's concurrent statements stay within the pool (5 + 5 overflow here): beyond "
        "it, every request would also pay for opening and closing overflow connections."
    )
    profile = PLAIN_PG
    connections = 2
    request = RequestSpec("/api/dashboard/summary")
    specs = (request,)
    core = ("gateway-async-1", "legacy-sync-1")
    extra = ("async-api-1", "gateway-legacy-1")


def summary_figure_count() -> int | None:
    """How many independent figures the summary gathers (its parts)."""
    try:
        from shared.database.queries.dashboard import summary_parts
    except Exception:
        return None
    from datetime import datetime

    return len(summary_parts(None, now=datetime(2000, 1, 1)))  # type: ignore[arg-type]


class DigestBurst(Burst):
    name = "digest"
    title = 'f. POST /api/digest/generate {"limit": 5}, AI answering in 2 s, 20 at once'
    question = (
        "Twenty digests requested at once; the OpenAI-compatible stand-in takes 2 s for "
        "each completion. How long until all twenty are written?"
    )
    profile = PLAIN
    n = 20
    per_request_s = 2.0
    request = RequestSpec("/api/digest/generate", method="POST", json_body={"limit": 5})
    core = (
        "legacy-gthread-1x32",
        "gateway-async-1",
        "legacy-sync-1",
        "before-run-async-1",
    )
    # gevent deadlocks on SQLite's write lock here and is then waited on for 15 s: shown
    # in --full runs (and on PostgreSQL, scenario f again), not in quick ones.
    extra = ("gateway-legacy-1", "legacy-gevent-1", "async-api-1")

    def settings(self) -> str:
        return f"{self.n} at once; AI stand-in delay 2 s; {self.profile.describe()}"

    def prepare(self, ctx: Context, servers: dict[str, Server], record: dict[str, Any]) -> None:
        warm_up(servers, lambda server: RequestSpec("/api/health"), 2)  # a digest costs 2 s


class DigestBurstPostgres(DigestBurst):
    name = "digest-postgresql"
    title = "f. The same digests on PostgreSQL (gevent vs async)"
    question = (
        "Scenario f again on PostgreSQL, for gevent: on SQLite its greenlets deadlock on "
        "the database's write lock (see the gevent section)."
    )
    profile = PLAIN_PG
    core = ()
    extra = ("legacy-gevent-1", "gateway-async-1")


class Ingest(Scenario):
    name = "ingest"
    title = "g. POST /admin/api/ingest over 20 feeds that each take 300 ms"
    question = (
        "The demo sources are disabled and 20 local feeds added; each answers after 300 ms. "
        "Either half asks for an ingest run and answers when it is done: a job "
        "(shared/ingest.py) that fetches the feeds concurrently, INGEST_CONCURRENCY at a "
        "time (8 by default: three waves of 300 ms), and stores each as it and the ones "
        "before it are in."
    )
    kind = "single"
    profile = PLAIN
    request = RequestSpec("/admin/api/ingest", method="POST", json_body={}, headers=AUTH)
    core = ("legacy-sync-1", "gateway-async-1", "gateway-async-1-ingest20")
    extra = ("gateway-legacy-1", "before-run-async-1")
    feeds = 20
    feed_delay_s = 0.3

    def settings(self) -> str:
        return f"{self.feeds} feeds x {self.feed_delay_s * 1000:.0f} ms; {self.profile.describe()}"

    def prepare(self, ctx: Context, servers: dict[str, Server], record: dict[str, Any]) -> None:
        record["source_setup"] = {
            name: set_up_feed_sources(server, ctx.stubs.feed_urls)
            for name, server in servers.items()
        }

    def measure(self, ctx: Context, server: Server) -> dict[str, Any]:
        result = sequential(server.url, self.request, 1, timeout=300)
        figures = result.figures()
        figures["total_s"] = result.latencies_s[0]
        return figures


def set_up_feed_sources(server: Server, feed_urls: list[str]) -> str:
    """Disable the demo sources and add one per feed, through the admin API when it
    exists, else straight into this server's database."""
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=60) as client:
        listed = client.get("/admin/api/sources")
        if listed.status_code == 200:
            for source in listed.json().get("sources", []):
                if source.get("enabled") and source.get("url") not in feed_urls:
                    client.put(f"/admin/api/sources/{source['id']}", json={"enabled": False})
            created = 0
            for index, url in enumerate(feed_urls):
                answer = client.post(
                    "/admin/api/sources",
                    json={"name": f"Bench feed {index}", "url": url, "category": "tech"},
                )
                created += answer.status_code in (200, 201, 409)
            if created == len(feed_urls):
                return "admin API"
    _write_sources(server.database_url, feed_urls)
    return "written to the database (admin API missing or refusing)"


def _write_sources(database_url: str, feed_urls: list[str]) -> None:
    import asyncio

    import sqlalchemy as sa

    from shared.database.engine import Database
    from shared.database.rows import utcnow
    from shared.database.schema import sources

    async def write() -> None:
        db = Database(database_url)
        await db.connect()
        try:
            async with db.transaction() as tx:
                await tx.conn.execute(sa.update(sources).values(enabled=False))
                for index, url in enumerate(feed_urls):
                    exists = await tx.conn.scalar(
                        sa.select(sources.c.id).where(sources.c.url == url)
                    )
                    if exists is None:
                        await tx.conn.execute(
                            sa.insert(sources).values(
                                name=f"Bench feed {index}",
                                url=url,
                                category="tech",
                                enabled=True,
                                created_at=utcnow(),
                            )
                        )
                    else:
                        await tx.conn.execute(
                            sa.update(sources).where(sources.c.id == exists).values(enabled=True)
                        )
        finally:
            await db.close()

    asyncio.run(write())


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        AuditTen(),
        BurstHundred(),
        BurstThousand(),
        DashboardSummary(),
        ThroughputSQLite(),
        HotRoutesSQLite(),
        MixedReads(),
        ShadowCost(),
        DigestBurst(),
        Ingest(),
        ThroughputPostgres(),
        HotRoutesPostgres(),
        DashboardCpu(),
        DigestBurstPostgres(),
    )
}
