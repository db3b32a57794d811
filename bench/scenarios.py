"""The scenarios: the audit's own, and the ones the gateway's performance goals name.

Within a scenario every configuration runs back to back, round after round (A B C, A B C,
…), so that whatever else the machine is doing weighs on all of them alike.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import httpx

from bench.configs import CONFIGURATIONS, Configuration
from bench.cpu import CpuMeter
from bench.loadgen import RequestSpec, burst, paced, sequential, throughput
from bench.modes import Mode
from bench.processes import ProcessRegistry
from bench.servers import ADMIN_TOKEN, Profile, Server, ServerPool, Stubs

LATENCY_500 = Profile("latency500", latency_ms=500, pool_size=50)
LATENCY_500_BIG_POOL = Profile("latency500-pool500", latency_ms=500, pool_size=500)
LATENCY_100 = Profile("latency100", latency_ms=100, pool_size=50)
PLAIN = Profile("plain")
PLAIN_PG = Profile("plain-pg", backend="postgresql", pool_size=5)  # max_connections is 100

LATEST = RequestSpec("/api/news/latest")
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
        wanted = self.configurations(mode)
        to_run = []
        for config in wanted:
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
        if not to_run:
            return record, {}
        steps = sum(self.rounds_for(c, mode) for c in to_run)
        ctx.reporter.scenario(self.title, steps + 2)
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
        self.finish(ctx, servers, record)
        return record, servers

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

    def expected_s(self, config: Configuration) -> float | None:
        if config.kind == "sleep":
            return self.per_request_s
        slots = config.slots
        if config.env.get("DB_POOL_SIZE") and slots is None:
            slots = 2 * int(config.env["DB_POOL_SIZE"])  # pool + as much overflow
        return self.per_request_s * math.ceil(self.n / slots) if slots else self.per_request_s

    def expectation(self, config: Configuration) -> str:
        slots = config.slots or 2 * int(config.env.get("DB_POOL_SIZE", "0"))
        return f"{self.n} requests / {slots} at a time x {self.per_request_s:g} s"

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
        "gateway-async-1-pool10",
        "sleep-1",
        "legacy-sync-1",
        "before-run-async-1",
    )
    extra = ("gateway-legacy-1", "async-api-1", "legacy-gthread-2x16", "legacy-sync-2")


class BurstThousand(Burst):
    name = "burst1000"
    title = "b. 1,000 concurrent GET /api/news/latest, 500 ms DB, vs a bare 500 ms sleep"
    question = (
        "1,000 at once on one worker. The floor is a bare FastAPI endpoint that only "
        "sleeps 500 ms, measured in the same run."
    )
    profile = LATENCY_500_BIG_POOL
    n = 1000
    core = (
        "sleep-1",
        "gateway-async-1",
        "async-api-1",
        "legacy-gevent-1",
        "gateway-legacy-1",
        "legacy-gthread-1x32",
        "legacy-sync-1",
        "gateway-async-1-pool10",
    )
    extra = ("legacy-gthread-2x16",)

    def prepare(self, ctx: Context, servers: dict[str, Server], record: dict[str, Any]) -> None:
        super().prepare(ctx, servers, record)
        if ctx.mode.full_set and "sleep-1" in servers:
            # How much the client itself costs at this concurrency: raw asyncio vs httpx.
            ctx.reporter.step("calibrating the burst clients on the sleep endpoint")
            floor = servers["sleep-1"]
            record["calibration"] = {
                client: burst(floor.url, RequestSpec("/sleep"), self.n, client=client).figures()
                for client in ("raw", "httpx")
            }


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
        return lambda: self._load(ctx, server, 2) and None


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
        "floor-1",
    )
    extra = (
        "legacy-sync-2",
        "legacy-gthread-2x16",
        "legacy-gevent-1",
        "gateway-legacy-2",
        "gateway-async-2",
        "async-api-2",
    )


class ThroughputPostgres(ThroughputSQLite):
    name = "throughput-postgresql"
    title = "c. DB-bound throughput, PostgreSQL: GET /api/news/latest, no injected latency"
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
        "gateway-legacy-1",
        "gateway-async-1",
        "legacy-sync-1",
        "before-run-async-1",
    )
    # gevent deadlocks on SQLite's write lock here and is then waited on for 15 s: shown
    # in --full runs (and on PostgreSQL, scenario f again), not in quick ones.
    extra = ("legacy-gevent-1", "async-api-1")

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
        "Legacy fetches them one after another; the async half fetches them concurrently "
        "(INGEST_CONCURRENCY at a time, 8 by default)."
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

    def expected_s(self, config: Configuration) -> float | None:
        """Legacy fetches the feeds one after another."""
        if config.kind in ("legacy", "before") or config.manifest == "legacy":
            return self.feeds * self.feed_delay_s
        return None

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
                if source.get("enabled") and not str(source.get("url", "")).startswith(
                    "http://127.0.0.1"
                ):
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
        MixedReads(),
        ShadowCost(),
        DigestBurst(),
        Ingest(),
        ThroughputPostgres(),
        DashboardCpu(),
        DigestBurstPostgres(),
    )
}
