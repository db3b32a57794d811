"""`python -m bench --smoke`: every configuration started, one request answered, stopped,
and nothing left running (checked against the harness's bookkeeping and /proc). The
answers' bodies are kept: every server has its own copy of the same data, so the floor
app must answer what the async half answers, and it is asked each route of the frontend's
hot path (`HOT_ROUTES`, the requests the hot-routes scenarios send) beside the async half.

No load and no wrk: this is what the test suite runs (tests/bench/test_bench_smoke.py).
"""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from bench.configs import CONFIGURATIONS, Configuration
from bench.databases import Backend, postgres_answers
from bench.processes import ProcessRegistry
from bench.scenarios import HOT_ROUTES
from bench.servers import ADMIN_TOKEN, Profile, ServerPool, Stubs, base_environment

SMOKE = Profile("smoke")
SMOKE_PG = Profile("smoke-pg", backend="postgresql", pool_size=5)
# The configurations whose hot-path answers are compared: the floor and the async half.
HOT_COMPARED = ("floor-1", "async-api-1", "gateway-async-1")


@dataclass
class SmokeResult:
    answers: dict[str, str] = field(default_factory=dict)  # configuration -> status or problem
    bodies: dict[str, Any] = field(default_factory=dict)  # configuration -> the answer's JSON
    # backend -> configuration -> hot-path request -> (status, JSON), for HOT_COMPARED
    hot: dict[str, dict[str, dict[str, tuple[str, Any]]]] = field(default_factory=dict)
    hot_skipped: str = ""  # why the hot path was not compared on PostgreSQL
    pids: dict[str, list[int]] = field(default_factory=dict)  # every pid seen while it ran
    # gateway configuration -> /_gateway/status "runtime": which half is loaded, threads
    runtimes: dict[str, dict[str, Any]] = field(default_factory=dict)
    leftovers: dict[int, list[int]] = field(default_factory=dict)
    still_alive: list[int] = field(default_factory=list)
    stubs: str = ""

    @property
    def passed(self) -> bool:
        return (
            bool(self.answers)
            and all(a == "200" for a in self.answers.values())
            and self.stubs == "200"
            and not self.leftovers
            and not self.still_alive
            and not self.hot_mismatches()
        )

    def hot_mismatches(self) -> list[str]:
        """Hot-path requests the floor does not answer as the async half does (with 200),
        on each backend asked."""
        problems = []
        for backend, configs in self.hot.items():
            floor = configs.get("floor-1")
            if floor is None:
                problems.append(f"{backend}: floor-1 did not answer")
                continue
            for path in HOT_ROUTES:
                status, body = floor.get(path, ("not asked", None))
                if status != "200":
                    problems.append(f"{backend}: floor-1 {path}: {status}")
                    continue
                for name, answers in configs.items():
                    if name != "floor-1" and answers.get(path) != ("200", body):
                        problems.append(f"{backend}: {path}: floor-1 and {name} differ")
        return problems


def smoke_request(config: Configuration) -> str:
    return "/sleep" if config.kind == "sleep" else "/api/news/latest?limit=3"


def run_smoke(
    configurations: list[Configuration] | None = None,
    *,
    log_dir: Path | None = None,
    postgres_url: str | None = None,
) -> SmokeResult:
    """Every configuration on SQLite; with `postgres_url` (when it answers), the floor and
    the async half again on PostgreSQL, for the hot path's answers."""
    configurations = configurations or list(CONFIGURATIONS.values())
    run_dir = log_dir or Path(tempfile.mkdtemp(prefix="bench-smoke-"))
    registry = ProcessRegistry(run_dir / "logs")
    result = SmokeResult()
    backend: Backend | None = None
    postgres: Backend | None = None
    pool: ServerPool | None = None
    stubs = Stubs(registry, run_dir, feeds=2)
    try:
        stubs.start(base_environment(openai_base_url=None))
        result.stubs = _get(stubs.openai_base_url + "/models")[0]
        env = base_environment(openai_base_url=stubs.openai_base_url)
        backend = Backend.prepare("sqlite", env=env, postgres_url="")
        pool = ServerPool(registry, run_dir, base_env=env, backends={"sqlite": backend})
        servers, failures = pool.acquire(configurations, SMOKE)
        for name, problem in failures.items():
            result.answers[name] = f"did not start: {problem}"
        for name, server in servers.items():
            result.pids[name] = server.process.worker_pids()
            result.answers[name], result.bodies[name] = _get(
                server.url + smoke_request(server.config)
            )
            if name in HOT_COMPARED:
                result.hot.setdefault("sqlite", {})[name] = _hot_answers(server.url)
            if server.config.kind == "gateway":
                admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
                status = _get(server.url + "/_gateway/status", headers=admin)[1] or {}
                result.runtimes[name] = status.get("runtime", {})
        compared = [c for c in configurations if c.name in HOT_COMPARED]
        if postgres_url and compared:
            if asyncio.run(postgres_answers(postgres_url)):
                postgres = Backend.prepare("postgresql", env=env, postgres_url=postgres_url)
                pool.backends["postgresql"] = postgres
                servers, failures = pool.acquire(compared, SMOKE_PG)
                for name, problem in failures.items():
                    result.answers[f"{name} (postgresql)"] = f"did not start: {problem}"
                for name, server in servers.items():
                    result.pids[f"{name} (postgresql)"] = server.process.worker_pids()
                    result.hot.setdefault("postgresql", {})[name] = _hot_answers(server.url)
            else:
                result.hot_skipped = f"PostgreSQL does not answer at {postgres_url}"
    finally:
        if pool is not None:
            pool.stop_all()
        stubs.stop()
        registry.stop_all()
        for prepared in (backend, postgres):
            if prepared is not None:
                prepared.drop_all()
    result.leftovers = registry.leftovers()
    seen = {pid for pids in result.pids.values() for pid in pids}
    result.still_alive = sorted(pid for pid in seen if _alive(pid))
    return result


def _hot_answers(base_url: str) -> dict[str, tuple[str, Any]]:
    return {path: _get(base_url + path) for path in HOT_ROUTES}


def _get(url: str, *, headers: dict[str, str] | None = None) -> tuple[str, Any]:
    """The status (or the error's name) and the JSON body (None when there is none)."""
    try:
        response = httpx.get(url, timeout=60, headers=headers)
    except httpx.HTTPError as exc:
        return type(exc).__name__, None
    try:
        return str(response.status_code), response.json()
    except ValueError:
        return str(response.status_code), None


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def print_smoke(result: SmokeResult, console: Console) -> None:
    table = Table(title="bench --smoke")
    for column in ("configuration", "answer", "pids while running"):
        table.add_column(column)
    for name, answer in result.answers.items():
        pids = ", ".join(map(str, result.pids.get(name, [])))
        table.add_row(name, answer if answer == "200" else f"[red]{answer}[/]", pids)
    table.add_row("stubs (OpenAI + feeds)", result.stubs, "")
    console.print(table)
    for problem in result.hot_mismatches():
        console.print(f"[red]hot path: {problem}[/]")
    for backend, configs in result.hot.items():
        if not result.hot_mismatches():
            console.print(
                f"[green]hot path ({backend}): {len(HOT_ROUTES)} routes answer alike "
                f"({', '.join(configs)})[/]"
            )
    if result.hot_skipped:
        console.print(f"[yellow]hot path not compared on PostgreSQL: {result.hot_skipped}[/]")
    if result.leftovers or result.still_alive:
        console.print(f"[red]left behind: groups {result.leftovers}, pids {result.still_alive}[/]")
    else:
        console.print("[green]every process stopped; none left behind[/]")
