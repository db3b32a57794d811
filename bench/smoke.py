"""`python -m bench --smoke`: every configuration started, one request answered, stopped,
and nothing left running (checked against the harness's bookkeeping and /proc). The
answers' bodies are kept: every server has its own copy of the same data, so the floor
app must answer what the async half answers.

No load and no wrk: this is what the test suite runs (tests/bench/test_bench_smoke.py).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from bench.configs import CONFIGURATIONS, Configuration
from bench.databases import Backend
from bench.processes import ProcessRegistry
from bench.servers import ADMIN_TOKEN, Profile, ServerPool, Stubs, base_environment

SMOKE = Profile("smoke")


@dataclass
class SmokeResult:
    answers: dict[str, str] = field(default_factory=dict)  # configuration -> status or problem
    bodies: dict[str, Any] = field(default_factory=dict)  # configuration -> the answer's JSON
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
        )


def smoke_request(config: Configuration) -> str:
    return "/sleep" if config.kind == "sleep" else "/api/news/latest?limit=3"


def run_smoke(
    configurations: list[Configuration] | None = None, *, log_dir: Path | None = None
) -> SmokeResult:
    configurations = configurations or list(CONFIGURATIONS.values())
    run_dir = log_dir or Path(tempfile.mkdtemp(prefix="bench-smoke-"))
    registry = ProcessRegistry(run_dir / "logs")
    result = SmokeResult()
    backend: Backend | None = None
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
            if server.config.kind == "gateway":
                admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
                status = _get(server.url + "/_gateway/status", headers=admin)[1] or {}
                result.runtimes[name] = status.get("runtime", {})
    finally:
        if pool is not None:
            pool.stop_all()
        stubs.stop()
        registry.stop_all()
        if backend is not None:
            backend.drop_all()
    result.leftovers = registry.leftovers()
    seen = {pid for pids in result.pids.values() for pid in pids}
    result.still_alive = sorted(pid for pid in seen if _alive(pid))
    return result


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
    if result.leftovers or result.still_alive:
        console.print(f"[red]left behind: groups {result.leftovers}, pids {result.still_alive}[/]")
    else:
        console.print("[green]every process stopped; none left behind[/]")
