"""Scenario i: a queue of digest jobs drained by separate worker processes (issue 12).

The gateway runs without its embedded worker (JOBS_EMBEDDED_WORKER=false) on PostgreSQL
and takes every job with `POST /api/digest/jobs`; nothing runs them yet. Then one or two
`python -m gateway worker --concurrency C` processes start, and the harness counts the
jobs' rows in `digest_jobs` until every one is done (or failed). Each job makes one call
to the OpenAI stand-in, which answers after the AI delay (2 s): a worker runs at most C
jobs at once, so with the default JOBS_CONCURRENCY of 4 one worker drains about 2 jobs a
second whatever the machine; a higher --concurrency shows what the design allows.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from bench.configs import Configuration
from bench.cpu import TICKS_PER_SECOND, CpuMeter, CpuReading, read_tree, usage_between
from bench.loadgen import RequestSpec
from bench.modes import Mode
from bench.processes import ManagedProcess
from bench.scenarios import Context, Scenario, warm_up
from bench.servers import Profile, Server
from shared.database.engine import normalize_url

DRAIN_PG = Profile("drain-pg", backend="postgresql", pool_size=5)
# The enqueuing gateway: not in CONFIGURATIONS (no other scenario, nor the smoke test,
# needs a gateway that runs no jobs).
ENQUEUER = Configuration(
    "gateway-async-1-no-worker",
    "gateway, every route async, 1w, no embedded job worker",
    "gateway",
    "uvicorn",
    1,
    32,
    manifest="async",
    env={"JOBS_EMBEDDED_WORKER": "false"},
)
READY_LINE = "job worker on queue"  # shared/jobs/worker.py, once its runtime is open
ENQUEUE_CONNECTIONS = 16
DIGEST_BODY = {"limit": 5}

# The figures before procrastinate: scenario f (`digest`) of the --full run committed in
# 2da0e07 (docs/benchmarks/results.json there): 20 digests built inside their requests,
# all at once, the AI stand-in answering in 2 s; median (min..max) over the rounds. No
# CPU figure: the benchmark measured CPU from 068871c on.
IN_PROCESS_COMMIT = "2da0e07"
IN_PROCESS = (
    # configuration, backend, digests, all answered in (median, min, max), rounds
    ("gateway-async-1", "sqlite", 20, (2.14, 2.10, 2.31), 5),
    ("gateway-async-1", "postgresql", 20, (2.09, 2.06, 2.20), 5),
    ("legacy-gthread-1x32", "sqlite", 20, (2.16, 2.14, 2.23), 5),
    ("legacy-sync-1", "sqlite", 20, (40.97, 40.95, 40.99), 2),
)


@dataclass(frozen=True)
class WorkerSetup:
    """Worker processes that drain the queue, and how many jobs each runs at once."""

    processes: int
    concurrency: int

    @property
    def name(self) -> str:
        return f"workers-{self.processes}x{self.concurrency}"

    @property
    def shape(self) -> str:
        return f"{self.processes} worker process(es) x {self.concurrency} jobs at a time"

    def command(self) -> str:
        return f"python -m gateway worker --concurrency {self.concurrency}"

    @property
    def slots(self) -> int:
        return self.processes * self.concurrency

    def waves(self, jobs: int) -> int:
        return math.ceil(jobs / self.slots)

    def bound(self, ai_delay_s: float, jobs: int) -> float:
        """Jobs per second the setup allows when every job waits `ai_delay_s`: `slots` at
        once, so `jobs` drain in `waves(jobs)` AI calls' time (a queue shorter than the
        slots is one wave: its own length bounds it, not the concurrency)."""
        return jobs / (self.waves(jobs) * ai_delay_s)


SETUPS = (WorkerSetup(1, 4), WorkerSetup(2, 4), WorkerSetup(1, 50), WorkerSetup(2, 50))


class JobsDrain(Scenario):
    name = "jobs-drain"
    kind = "drain"
    title = "i. Digest jobs drained by worker processes (PostgreSQL), AI answering in 2 s"
    question = (
        "The gateway (no embedded worker) takes the digest jobs with POST /api/digest/jobs; "
        "then 1 or 2 `python -m gateway worker` processes start and run them, each job one "
        "2 s AI call. How many jobs per second, and how long until the queue is empty? A "
        "worker runs --concurrency jobs at once (JOBS_CONCURRENCY, 4 by default): "
        "processes x concurrency / 2 s is the most it can drain, however fast the machine "
        "(a queue shorter than processes x concurrency: its length / 2 s, one wave)."
    )
    profile = DRAIN_PG
    request = RequestSpec("/api/digest/jobs", method="POST", json_body=DIGEST_BODY)
    core = ()

    def configurations(self, mode: Mode) -> list[Configuration]:
        return [ENQUEUER]

    def settings(self) -> str:
        return f"{self.profile.describe()}; worker processes with the same settings"

    def run(self, ctx: Context) -> tuple[dict[str, Any], dict[str, Server]]:
        jobs = ctx.drain_jobs or ctx.mode.drain_jobs
        setups = [WorkerSetup(*pair) for pair in ctx.drain_setups] or list(SETUPS)
        record: dict[str, Any] = {
            "name": self.name,
            "title": (
                f"i. {jobs:,} digest jobs drained by worker processes (PostgreSQL), AI "
                f"answering in {ctx.ai_delay_s:g} s"
            ),
            "question": self.question.replace("2 s", f"{ctx.ai_delay_s:g} s"),
            "kind": self.kind,
            "settings": f"{jobs} jobs; {self.settings()}",
            "request": f"{self.request.method} {self.request.path}",
            "jobs": jobs,
            "ai_delay_s": ctx.ai_delay_s,
            "enqueuer": {"name": ENQUEUER.name, "command": _enqueuer_command()},
            "rows": {
                setup.name: {
                    "label": setup.command(),
                    "shape": setup.shape,
                    "rounds": [],
                    "skipped": ctx.unavailable_backends.get(self.profile.backend),
                    "bound_jobs_per_s": setup.bound(ctx.ai_delay_s, jobs),
                    "processes": setup.processes,
                    "concurrency": setup.concurrency,
                }
                for setup in setups
            },
            "notes": [],
        }
        if ctx.unavailable_backends.get(self.profile.backend):
            return record, {}
        rounds = {s.name: self.rounds_for_setup(s, ctx, jobs) for s in setups}
        ctx.reporter.scenario(record["title"], sum(rounds.values()) + 1)
        ctx.reporter.step(f"starting the enqueuing gateway ({self.profile.describe()})")
        servers, failures = ctx.pool.acquire([ENQUEUER], self.profile)
        server = servers.get(ENQUEUER.name)
        if server is None:
            problem = failures.get(ENQUEUER.name, "did not start").splitlines()[0]
            for row in record["rows"].values():
                row["skipped"] = f"the enqueuing gateway did not start: {problem}"
            return record, {}
        warm_up(servers, lambda _: RequestSpec("/api/health"), 2)
        for round_number in range(ctx.mode.rounds):
            for setup in setups:
                row = record["rows"][setup.name]
                if round_number >= rounds[setup.name] or row.get("stopped"):
                    continue
                ctx.reporter.step(f"{setup.name}, round {round_number + 1}")
                figures = drain(ctx, server, setup, jobs=jobs, label=f"r{round_number + 1}")
                row["rounds"].append(figures)
                ctx.reporter.log(f"{self.name} {setup.name} r{round_number + 1}: {brief(figures)}")
                if figures["ok"] < figures["n"]:
                    row["stopped"] = (
                        f"not repeated after round {round_number + 1}: {figures['ok']} of "
                        f"{figures['n']} jobs done"
                        + (f" ({figures['problem']})" if figures.get("problem") else "")
                    )
        return record, servers

    def rounds_for_setup(self, setup: WorkerSetup, ctx: Context, jobs: int) -> int:
        """One round when a drain is expected to be slow (--concurrency 4: 2 jobs/s per
        worker, 500 s for 1,000) and in quick mode, else the mode's rounds."""
        expected = setup.waves(jobs) * ctx.ai_delay_s
        if not ctx.mode.full_set:  # quick: each round starts worker processes (seconds)
            return 1
        return 1 if expected > ctx.mode.slow_after_s else ctx.mode.rounds


def brief(figures: dict[str, Any]) -> str:
    return (
        f"{figures['ok']}/{figures['n']} done in {figures['drain_s']:.1f} s, "
        f"{figures['jobs_per_s']:.2f} jobs/s, worker CPU {figures['cpu_ms_per_job']:.2f} ms/job"
    )


def _enqueuer_command() -> str:
    env = " ".join(f"{k}={v}" for k, v in ENQUEUER.env.items())
    return f"{env} MIGRATION_MANIFEST=manifest-async.yaml {ENQUEUER.command()}"


def drain(
    ctx: Context, server: Server, setup: WorkerSetup, *, jobs: int, label: str
) -> dict[str, Any]:
    """Queue `jobs` digest jobs through the gateway, then drain them with `setup`'s worker
    processes; the figures of one round."""
    with CpuMeter(server.process.pid) as gateway_cpu:
        began = time.monotonic()
        job_ids, refused = asyncio.run(enqueue(server.url, jobs))
        enqueue_s = time.monotonic() - began
    figures: dict[str, Any] = {
        "n": jobs,
        "enqueue_s": enqueue_s,
        "enqueue_per_s": len(job_ids) / enqueue_s if enqueue_s else None,
        "cpu_ms_per_enqueue": gateway_cpu.per_request_ms(jobs),
        "enqueue_refused": refused,
    }
    env = ctx.pool.env_for(ENQUEUER, server.profile, server.database_url)
    argv = [sys.executable, "-m", "gateway", "worker", "--concurrency", str(setup.concurrency)]
    workers: list[ManagedProcess] = []
    launched = time.monotonic()
    try:
        for index in range(setup.processes):
            workers.append(
                ctx.registry.start(
                    f"worker-{index + 1}",
                    argv,
                    env=env,
                    log_name=f"{setup.name}-{index + 1}--{label}",
                )
            )
        expected_s = setup.waves(jobs) * ctx.ai_delay_s
        watch = asyncio.run(
            watch_drain(
                server.database_url,
                job_ids,
                workers,
                launched=launched,
                give_up_after=3 * expected_s + 120,
            )
        )
    finally:
        ended = {w.pid: read_tree(w.pid) for w in workers if w.alive()}
        with ThreadPoolExecutor(max_workers=max(1, len(workers))) as stopping:
            list(stopping.map(ctx.registry.stop, workers))
    cpu_s, precise = 0.0, True
    for worker in workers:
        start, end = watch.ready_cpu.get(worker.pid), ended.get(worker.pid)
        if start is not None and end is not None:
            used = usage_between(start, end)
            cpu_s += used.total_s
            precise = precise and used.precise
    work_s = (watch.done_at or time.monotonic()) - (watch.first_ready_at or launched)
    figures.update(
        ok=watch.counts.get("done", 0),
        failed=watch.counts.get("failed", 0) + len(refused),
        drain_s=(watch.done_at or time.monotonic()) - launched,
        startup_s=watch.all_ready_at - launched if watch.all_ready_at else None,
        work_s=work_s,
        jobs_per_s=watch.counts.get("done", 0) / work_s if work_s > 0 else 0.0,
        bound_jobs_per_s=setup.bound(ctx.ai_delay_s, jobs),
        cpu_ms_per_job=cpu_s * 1000 / jobs,
        cpu_s=cpu_s,
        cpu_precise=precise,
        startup_cpu_s=sum(_ticks_s(r) for r in watch.ready_cpu.values()) / len(workers),
        problem=watch.problem,
    )
    return figures


async def enqueue(base_url: str, jobs: int) -> tuple[list[str], list[str]]:
    """`jobs` POST /api/digest/jobs, ENQUEUE_CONNECTIONS at a time: the job ids, and the
    answers that were not 202."""
    limits = httpx.Limits(max_connections=ENQUEUE_CONNECTIONS)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=60) as client:

        async def one() -> tuple[str | None, str | None]:
            try:
                answer = await client.post("/api/digest/jobs", json=DIGEST_BODY)
            except httpx.HTTPError as exc:
                return None, type(exc).__name__
            if answer.status_code != 202:
                return None, f"{answer.status_code} {answer.text[:80]}"
            return str(answer.json()["job_id"]), None

        answers = await asyncio.gather(*(one() for _ in range(jobs)))
    return [i for i, _ in answers if i], [p for _, p in answers if p]


@dataclass
class Watch:
    counts: dict[str, int]
    ready_cpu: dict[int, CpuReading]  # each worker's CPU when it said it was ready
    first_ready_at: float | None
    all_ready_at: float | None
    done_at: float | None
    problem: str | None


READY_GRACE_S = 30.0  # after the drain, for a worker that had not started yet


async def watch_drain(
    database_url: str,
    job_ids: list[str],
    workers: list[ManagedProcess],
    *,
    launched: float,
    give_up_after: float,
) -> Watch:
    """Until every job is done or failed: each worker's readiness (its log line, when its
    CPU is read), and the jobs' statuses in `digest_jobs` four times a second."""
    watch = Watch({}, {}, None, None, None, None)
    query = sa.text(
        "SELECT status, count(*) FROM digest_jobs WHERE id IN :ids GROUP BY status"
    ).bindparams(sa.bindparam("ids", expanding=True))
    engine = create_async_engine(normalize_url(database_url), pool_size=1)
    next_poll = 0.0
    try:
        while True:
            now = time.monotonic()
            for worker in workers:
                if worker.pid not in watch.ready_cpu and READY_LINE in _log_text(worker):
                    watch.ready_cpu[worker.pid] = read_tree(worker.pid)
                    watch.first_ready_at = watch.first_ready_at or now
                    if len(watch.ready_cpu) == len(workers):
                        watch.all_ready_at = now
            dead = [w for w in workers if not w.alive()]
            if dead:
                watch.problem = f"{dead[0].name} exited: {dead[0].log_tail(5)}"
                return watch
            if watch.done_at is not None:
                # Drained; a worker still starting (the others took every job first) is
                # given a moment to say it is ready, for its start-up and CPU figures.
                if watch.all_ready_at is not None or now - watch.done_at > READY_GRACE_S:
                    return watch
            elif now >= next_poll:
                next_poll = now + 0.25
                async with engine.connect() as conn:
                    rows = (await conn.execute(query, {"ids": job_ids})).all()
                watch.counts = {str(status): int(count) for status, count in rows}
                finished = watch.counts.get("done", 0) + watch.counts.get("failed", 0)
                if finished >= len(job_ids):
                    watch.done_at = time.monotonic()
            if now - launched > give_up_after:
                watch.problem = f"not drained within {give_up_after:.0f} s: {watch.counts}"
                return watch
            await asyncio.sleep(0.02)
    finally:
        await engine.dispose()


def _log_text(worker: ManagedProcess) -> str:
    with contextlib.suppress(OSError):
        return worker.log_path.read_text(errors="replace")
    return ""


def _ticks_s(reading: CpuReading) -> float:
    """CPU the process tree had used when read (start-up: imports, connecting)."""
    return sum(u + s + c for u, s, c in reading.ticks.values()) / TICKS_PER_SECOND
