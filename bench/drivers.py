"""asyncpg against psycopg 3, both through SQLAlchemy: the figures behind the driver choice
(docs/architecture.md, "The PostgreSQL driver").

    .venv/bin/python -m bench.drivers [--chunks 20] [--queries 300] [--requests 300]
                                      [--burst 1000] [--json FILE]

Six setups: each driver straight to PostgreSQL with its defaults, straight with the
pooler-safe options (DB_POOLER=transaction), and through a private PgBouncer in
transaction mode; all on one copy of the seeded database, all open at once, and measured
in turn, chunk after chunk, so that whatever else the machine does weighs on each alike.

- query: CPU time of this process per run of the hot read route's query (the driver and
  SQLAlchemy, no HTTP), 10 at a time on one uvloop loop;
- gateway: CPU time of a gateway (one uvicorn worker, every route on `async`) per request
  of that route, 10 at a time (/proc, user + system);
- burst: 1,000 mixed reads and writes, 50 at a time, through PgBouncer, with the driver's
  defaults (DB_POOLER=none) and with the pooler-safe options: answers other than 2xx.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Coroutine
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.processes import ROOT, free_port
from shared.database.engine import Database
from shared.database.migrate import apply_migrations, demo_anchor, load_demo
from shared.database.queries.news import latest_news
from shared.database.scratch import create_scratch_database, drop_scratch_database
from tests.support.pgbouncer import PrivatePgBouncer, pgbouncer_path

POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
HOT_READ = "/api/news/latest?category=crypto&limit=10"
CONCURRENCY = 10
BURST_CONCURRENCY = 50
TICKS = os.sysconf("SC_CLK_TCK")
Request = tuple[str, str, dict[str, Any] | None]


@dataclass(frozen=True)
class Setup:
    """One way to reach the database: the driver, through PgBouncer or not, DB_POOLER."""

    driver: str
    pooled: bool
    pooler: str

    @property
    def name(self) -> str:
        return f"{self.driver} {'pgbouncer' if self.pooled else 'direct'} DB_POOLER={self.pooler}"


SETUPS = [
    Setup(driver, pooled, pooler)
    for driver in ("asyncpg", "psycopg")
    for pooled, pooler in ((False, "none"), (False, "transaction"), (True, "transaction"))
]


def _run_loop(coro: Coroutine[Any, Any, Any]) -> Any:
    """On uvloop, as uvicorn serves the gateway when it is installed."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


# -- query: the driver and SQLAlchemy in this process ----------------------------------------


async def measure_queries(
    urls: dict[str, tuple[str, str]], chunks: int, per_chunk: int
) -> dict[str, list[float]]:
    """CPU seconds and queries run, per setup."""
    databases = {
        name: Database(url, pooler=pooler, pool_size=CONCURRENCY)
        for name, (url, pooler) in urls.items()
    }
    spent = {name: [0.0, 0] for name in urls}

    async def run(db: Database, count: int) -> None:
        async def client(n: int) -> None:
            for _ in range(n):
                await latest_news(db, categories=["crypto"], limit=10)

        await asyncio.gather(*(client(count // CONCURRENCY) for _ in range(CONCURRENCY)))

    try:
        for db in databases.values():
            await db.connect()
            await run(db, 300)  # connections open, statements compiled
        for _ in range(chunks):
            for name, db in databases.items():
                before = time.process_time()
                await run(db, per_chunk)
                spent[name][0] += time.process_time() - before
                spent[name][1] += per_chunk // CONCURRENCY * CONCURRENCY
    finally:
        for db in databases.values():
            await db.close()
    return spent


# -- gateway: a uvicorn process per setup ----------------------------------------------------


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


class Gateway:
    """`uvicorn gateway.asgi:app`, one worker, as a process of its own."""

    def __init__(self, database_url: str, pooler: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "DB_POOLER": pooler,
            "DEMO_DATA": "false",
            "JOBS_EMBEDDED_WORKER": "false",
            "RATE_LIMIT_STORAGE_URL": "memory://",
            "AUTH_FAILURE_LIMIT": "1000000/minute",
        }
        argv = [sys.executable, "-m", "uvicorn", "gateway.asgi:app", "--host", "127.0.0.1"]
        argv += ["--port", str(self.port), "--log-level", "warning", "--no-access-log"]
        self.log = tempfile.NamedTemporaryFile(prefix="bench-drivers-", suffix=".log")
        self.process = subprocess.Popen(argv, cwd=ROOT, env=env, stderr=self.log)

    def cpu_seconds(self) -> float:
        return _cpu_seconds(self.process.pid)

    def __enter__(self) -> Gateway:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(Path(self.log.name).read_text()[-2000:])
            try:
                if httpx.get(self.url + "/api/version", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("the gateway did not start")

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


async def load(base_url: str, requests: list[Request], concurrency: int) -> Counter[str]:
    """Every request once, `concurrency` at a time: answers by status (2xx as "ok"), and
    the first few failures in full."""
    answers: Counter[str] = Counter()
    pending = list(reversed(requests))
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits) as client:

        async def one_client() -> None:
            while pending:
                method, path, body = pending.pop()
                try:
                    response = await client.request(method, path, json=body)
                except httpx.HTTPError as exc:
                    answers[repr(exc)[:120]] += 1
                    continue
                if response.is_success:
                    answers["ok"] += 1
                else:
                    answers[f"{response.status_code} {path} {response.text[:120]}"] += 1

        await asyncio.gather(*(one_client() for _ in range(concurrency)))
    return answers


def measure_gateways(
    urls: dict[str, tuple[str, str]], chunks: int, per_chunk: int
) -> dict[str, dict[str, float]]:
    spent = {name: {"cpu_s": 0.0, "requests": 0, "wall_s": 0.0, "failed": 0} for name in urls}
    hot: list[Request] = [("GET", HOT_READ, None)]
    with ExitStack() as stack:
        gateways = {name: stack.enter_context(Gateway(*target)) for name, target in urls.items()}
        for gateway in gateways.values():
            asyncio.run(load(gateway.url, hot * 300, CONCURRENCY))
        for _ in range(chunks):
            for name, gateway in gateways.items():
                cpu, started = gateway.cpu_seconds(), time.monotonic()
                answers = asyncio.run(load(gateway.url, hot * per_chunk, CONCURRENCY))
                spent[name]["wall_s"] += time.monotonic() - started
                spent[name]["cpu_s"] += gateway.cpu_seconds() - cpu
                spent[name]["requests"] += per_chunk
                spent[name]["failed"] += per_chunk - answers["ok"]
    return spent


# -- burst: the pooler's side ----------------------------------------------------------------


def mixed_requests(count: int) -> list[Request]:
    """Reads and writes in turn: the demo users' subscriptions (1-4; 5 is blocked), tracked
    events, the latest news of a category, upcoming events."""
    categories = ["crypto", "tech", "world", "markets", "sports"]
    requests: list[Request] = []
    for i in range(count):
        user, category = 1 + i % 4, categories[i // 5 % len(categories)]
        match i % 5:
            case 0:
                body = {"user_id": user, "category": category, "action": "subscribe"}
                requests.append(("POST", "/api/subscriptions/update", body))
            case 1:
                requests.append(("POST", "/api/analytics/track", {"event": "bench.burst"}))
            case 2:
                requests.append(("GET", f"/api/subscriptions?user_id={user}", None))
            case 3:
                requests.append(("GET", f"/api/news/latest?category={category}&limit=5", None))
            case _:
                requests.append(("GET", "/api/events/upcoming", None))
    return requests


def measure_bursts(database: str, bouncer: PrivatePgBouncer, count: int) -> dict[str, Any]:
    results = {}
    for driver in ("asyncpg", "psycopg"):
        for pooler in ("none", "transaction"):
            setup = Setup(driver, True, pooler)
            with Gateway(_url(database, driver, bouncer.port), pooler) as gateway:
                answers = asyncio.run(load(gateway.url, mixed_requests(count), BURST_CONCURRENCY))
            failed = {outcome: n for outcome, n in answers.items() if outcome != "ok"}
            results[setup.name] = {"failed": sum(failed.values()), "samples": list(failed)[:3]}
    return results


# -- the run -----------------------------------------------------------------------------------


async def _seeded_copy() -> str:
    url = await create_scratch_database(POSTGRES_URL, label="drivers")
    db = Database(url, pooler="none")
    await db.connect()
    try:
        await apply_migrations(db)
        await load_demo(db, now=demo_anchor())
    finally:
        await db.close()
    return url


def _url(database: str, driver: str, port: int) -> str:
    return f"postgresql+{driver}://postgres@127.0.0.1:{port}/{database}"


def run(*, chunks: int, queries: int, requests: int, burst: int) -> dict[str, Any]:
    binary = pgbouncer_path()
    if binary is None:
        raise SystemExit("pgbouncer is not installed: bash scripts/install-pgbouncer.sh")
    scratch = asyncio.run(_seeded_copy())
    database = scratch.rsplit("/", 1)[1]
    try:
        with PrivatePgBouncer(binary, backend_url=POSTGRES_URL) as bouncer:
            urls = {
                s.name: (_url(database, s.driver, bouncer.port if s.pooled else 5432), s.pooler)
                for s in SETUPS
            }
            query = _run_loop(measure_queries(urls, chunks, queries))
            gateway = measure_gateways(urls, chunks, requests)
            bursts = measure_bursts(database, bouncer, burst) if burst else {}
    finally:
        asyncio.run(drop_scratch_database(scratch, base_url=POSTGRES_URL))
    rows = {
        name: {
            "query_cpu_us": query[name][0] * 1e6 / query[name][1],
            "gateway_cpu_ms_per_request": gateway[name]["cpu_s"] * 1e3 / gateway[name]["requests"],
            "gateway_requests_per_second": gateway[name]["requests"] / gateway[name]["wall_s"],
            "gateway_failed": gateway[name]["failed"],
        }
        for name in urls
    }
    return {
        "route": HOT_READ,
        "chunks": chunks,
        "queries_per_chunk": queries,
        "requests_per_chunk": requests,
        "setups": rows,
        "burst": {"requests": burst, "concurrency": BURST_CONCURRENCY, "results": bursts},
    }


def render(report: dict[str, Any]) -> str:
    lines = [
        "| setup | query: CPU µs | gateway: CPU ms/request | gateway: requests/s | failed |",
        "|---|---|---|---|---|",
    ]
    for name, row in report["setups"].items():
        lines.append(
            f"| {name} | {row['query_cpu_us']:.0f} | {row['gateway_cpu_ms_per_request']:.2f} "
            f"| {row['gateway_requests_per_second']:.0f} | {row['gateway_failed']} |"
        )
    burst = report["burst"]
    lines += [
        "",
        f"| {burst['requests']} mixed requests through PgBouncer | not 2xx |",
        "|---|---|",
    ]
    for name, row in burst["results"].items():
        sample = f" (e.g. {row['samples'][0][:90]})" if row["samples"] else ""
        lines.append(f"| {name} | {row['failed']}{sample} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.drivers", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--chunks", type=int, default=20, help="turns of every setup")
    parser.add_argument("--queries", type=int, default=300, help="in-process, per chunk")
    parser.add_argument("--requests", type=int, default=300, help="per gateway and chunk")
    parser.add_argument("--burst", type=int, default=1000, help="0: no burst")
    parser.add_argument("--json", type=Path, help="write the figures here too")
    args = parser.parse_args(argv)
    report = run(chunks=args.chunks, queries=args.queries, requests=args.requests, burst=args.burst)
    print(render(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
