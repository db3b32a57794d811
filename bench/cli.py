"""`python -m bench [--quick|--full|--smoke] [--scenario NAME ...]`."""

from __future__ import annotations

import argparse
import asyncio
import compileall
import json
import os
import shutil
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bench import machine, profiling, report, scenarios
from bench.databases import DEFAULT_POSTGRES_URL, Backend, postgres_answers
from bench.drain import JobsDrain
from bench.loadgen import WRK_MISSING, wrk_path
from bench.modes import FULL, QUICK, Mode
from bench.private_postgres import BACKEND as BURST_BACKEND
from bench.private_postgres import BurstPostgres, start_burst_postgres
from bench.processes import ROOT, ProcessRegistry, raise_on_termination
from bench.scenarios import Context, Scenario
from bench.servers import ServerPool, Stubs, base_environment
from bench.verdicts import Verdict, audit_claims, targets_for

console = Console()
SCENARIOS: dict[str, Scenario] = {**scenarios.SCENARIOS, JobsDrain.name: JobsDrain()}
# Run order keeps servers with the same settings together; the report goes by letter.
REPORT_ORDER = [
    "audit10",
    "burst100",
    "burst1000",
    "throughput-sqlite",
    "throughput-postgresql",
    "hot-routes-sqlite",
    "hot-routes-postgresql",
    "mixed",
    "dashboard",
    "dashboard-cpu",
    "digest",
    "digest-postgresql",
    "jobs-drain",
    "ingest",
    "shadow",
]
NEEDS_STUBS = {"digest", "digest-postgresql", "ingest", "jobs-drain"}


class ProgressReporter:
    """Progress bars per scenario (rich), and one line per measurement."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task: Any = None
        self.total = 0
        self.started = time.monotonic()

    def scenario(self, title: str, steps: int) -> None:
        if self.task is not None:
            self.progress.update(self.task, completed=self.total)
        self.progress.console.rule(title, style="cyan")
        self.task = self.progress.add_task(title[:70], total=steps)
        self.total = steps

    def step(self, text: str) -> None:
        if self.task is not None:
            self.progress.update(self.task, advance=1, description=text[:70])

    def log(self, text: str) -> None:
        minutes, seconds = divmod(int(time.monotonic() - self.started), 60)
        self.progress.console.print(f"[dim]{minutes:02d}:{seconds:02d}[/] {text}", highlight=False)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--quick", action="store_true", help="2 rounds, short runs (< 5 min)")
    which.add_argument("--full", action="store_true", help="5 rounds, every configuration")
    which.add_argument(
        "--smoke", action="store_true", help="start every configuration, one request, stop; no load"
    )
    parser.add_argument(
        "--scenario",
        action="append",
        choices=list(SCENARIOS),
        metavar="NAME",
        help=f"run only these (repeatable): {', '.join(SCENARIOS)}",
    )
    parser.add_argument(
        "--postgres-url", default=os.environ.get("BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    )
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--no-profile", action="store_true", help="no py-spy on missed goals")
    parser.add_argument(
        "--python-load",
        action="store_true",
        help="throughput with the Python client even when wrk is installed",
    )
    parser.add_argument("--burst-client", choices=("raw", "httpx"), default="raw")
    parser.add_argument(
        "--drain-jobs",
        type=int,
        metavar="N",
        help="digest jobs the jobs-drain scenario queues (default: 16 --quick, 1000 --full)",
    )
    parser.add_argument(
        "--drain-setup",
        action="append",
        type=drain_setup,
        metavar="PxC",
        help="jobs-drain: P worker processes x C jobs at a time (repeatable; "
        "default 1x4, 2x4, 1x50, 2x50)",
    )
    parser.add_argument(
        "--ai-delay",
        type=float,
        default=2.0,
        metavar="SECONDS",
        help="what the OpenAI stand-in takes per completion (the digest goals assume 2)",
    )
    parser.add_argument(
        "--render",
        type=Path,
        metavar="RESULTS_JSON",
        help="write the report again from a run's results.json (no measurement)",
    )
    parser.add_argument(
        "--merge",
        action="append",
        type=Path,
        metavar="RESULTS_JSON",
        help="with --render: take these runs' scenarios in place of the same ones "
        "(repeatable; the report says which run measured what)",
    )
    return parser.parse_args(argv)


def drain_setup(text: str) -> tuple[int, int]:
    """ "2x50" -> (2, 50)."""
    processes, _, concurrency = text.partition("x")
    try:
        pair = int(processes), int(concurrency)
    except ValueError:
        message = f"{text!r}: use PROCESSESxCONCURRENCY, e.g. 2x50"
        raise argparse.ArgumentTypeError(message) from None
    if min(pair) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: both must be at least 1")
    return pair


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    raise_on_termination()
    if args.smoke:
        from bench.smoke import print_smoke, run_smoke

        result = run_smoke(postgres_url=args.postgres_url)
        print_smoke(result, console)
        return 0 if result.passed else 1
    if args.render:
        return render(args.render, args.output, merge=args.merge or [])
    mode = FULL if args.full else QUICK
    selected = [
        s
        for name, s in SCENARIOS.items()
        if (not args.scenario or name in args.scenario) and s.configurations(mode)
    ]
    command = "python -m bench " + " ".join(argv if argv is not None else sys.argv[1:])
    try:
        return run(args, mode, selected, command.strip())
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM/SIGHUP (Interrupted)
        console.print(
            f"[red]interrupted ({type(exc).__name__}): every started process was stopped[/]"
        )
        return 130


def run(args: argparse.Namespace, mode: Mode, selected: list[Scenario], command: str) -> int:
    started = time.monotonic()
    stamp = datetime.now(UTC)
    run_dir = ROOT / "bench" / "results" / stamp.strftime("%Y%m%d-%H%M%S")
    registry = ProcessRegistry(run_dir / "logs")
    docs_dir = args.output.parent / "benchmarks"
    meta: dict[str, Any] = {
        "mode": mode.name,
        "command": command,
        "ai_delay_s": args.ai_delay,
        "started": stamp.strftime("%Y-%m-%d %H:%M"),
        "rounds": mode.rounds,
        "duration_s": mode.duration_s,
        "load_before": machine.load_average(),
        "machine": machine.machine(),
    }
    if not wrk_path():
        console.print(f"[yellow]{WRK_MISSING}[/]")
    for stale in [*docs_dir.glob("profile-*.svg"), *docs_dir.glob("*.png")]:
        stale.unlink()  # this run's report links only what this run draws
    console.print(f"bench: {mode.name} mode, {len(selected)} scenario(s); logs in {run_dir}")
    backends: dict[str, Backend] = {}
    burst_postgres: BurstPostgres | None = None
    stubs = Stubs(registry, run_dir, openai_delay_s=args.ai_delay)
    pool: ServerPool | None = None
    records: dict[str, dict[str, Any]] = {}
    profiles: list[dict[str, Any]] = []
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )
    try:
        with progress:
            reporter = ProgressReporter(progress)
            if any(s.name in NEEDS_STUBS for s in selected):
                stubs.start(base_environment(openai_base_url=None))
            env = base_environment(openai_base_url=stubs.openai_base_url or None)
            unavailable: dict[str, str] = {}
            backends_needed = {s.profile.backend for s in selected}
            if BURST_BACKEND in backends_needed:
                reporter.log("starting a private PostgreSQL server for the 1,000-request burst")
                burst_postgres, problem = start_burst_postgres()
                if burst_postgres is None:
                    unavailable[BURST_BACKEND] = problem
                    console.print(f"[yellow]{problem}: the burst scenario is skipped[/]")
            if "postgresql" in backends_needed and not asyncio.run(
                postgres_answers(args.postgres_url)
            ):
                unavailable["postgresql"] = f"PostgreSQL does not answer at {args.postgres_url}"
                console.print(f"[yellow]{unavailable['postgresql']}: its scenario is skipped[/]")
            wanted = sorted(backends_needed - set(unavailable))
            reporter.log(f"preparing the template database(s): {', '.join(wanted)}")
            with ThreadPoolExecutor(max_workers=len(wanted) + 1) as prepare:
                # Every server imports the project: compiled once here, not once a server
                # (the servers are started with PYTHONDONTWRITEBYTECODE=1, as is CI).
                compiled = prepare.submit(compile_project)
                jobs = {
                    name: prepare.submit(
                        Backend.prepare,
                        name,
                        env=env,
                        postgres_url=(
                            burst_postgres.url
                            if name == BURST_BACKEND and burst_postgres is not None
                            else args.postgres_url
                        ),
                    )
                    for name in wanted
                }
                for name, job in jobs.items():
                    backends[name] = job.result()
                compiled.result()
            pool = ServerPool(registry, run_dir, base_env=env, backends=backends)
            ctx = Context(
                mode=mode,
                pool=pool,
                registry=registry,
                stubs=stubs,
                reporter=reporter,
                docs_dir=docs_dir,
                unavailable_backends=unavailable,
                burst_client=args.burst_client,
                force_python_load=args.python_load,
                drain_jobs=args.drain_jobs,
                drain_setups=tuple(args.drain_setup or ()),
                ai_delay_s=args.ai_delay,
            )
            for index, scenario in enumerate(selected):
                began = time.monotonic()
                record, servers = scenario.run(ctx)
                records[scenario.name] = record
                for verdict in targets_for(scenario.name, records):
                    reporter.log(f"  goal {verdict.status}: {verdict.measured}")
                    if verdict.status == "missed" and not args.no_profile and mode.profile_s:
                        profiles += profile_missed(ctx, scenario, servers, verdict, profiles)
                keep = set().union(*(s.needs(mode) for s in selected[index + 1 :]))
                pool.release(keep)
                record["elapsed_s"] = time.monotonic() - began
                reporter.log(f"{scenario.name}: {record['elapsed_s']:.0f} s")
    finally:
        if pool is not None:
            pool.stop_all()
        stubs.stop()
        registry.stop_all()
        for backend in backends.values():
            backend.drop_all()
        if burst_postgres is not None:
            burst_postgres.close()
        left = registry.leftovers()
        if left:
            console.print(f"[red]processes left behind (process group: pids): {left}[/]")
    meta["manifests"] = pool.manifest_facts if pool else {}
    meta["versions"] = machine.versions(None if "postgresql" not in backends else args.postgres_url)
    meta["load_after"] = machine.load_average()
    meta["new_loop_ms"] = new_event_loop_ms()
    meta["elapsed_min"] = (time.monotonic() - started) / 60
    (run_dir / "results.json").write_text(
        publish(args.output, meta=meta, records=records, profiles=profiles), encoding="utf-8"
    )
    console.print(f"[green]wrote {args.output}[/] in {meta['elapsed_min']:.1f} min")
    return 0


def publish(
    output: Path,
    *,
    meta: dict[str, Any],
    records: dict[str, dict[str, Any]],
    profiles: list[dict[str, Any]],
) -> str:
    """Judge the records, write the report and its charts, and results.json beside them."""
    targets = all_targets(records)
    claims = audit_claims(records, new_loop_ms=meta.get("new_loop_ms"))
    ordered = sorted(records.values(), key=lambda r: REPORT_ORDER.index(r["name"]))
    report.write(
        output, meta=meta, records=ordered, targets=targets, claims=claims, profiles=profiles
    )
    results = {
        "meta": meta,
        "records": ordered,
        "targets": [v.to_json() for v in targets],
        "claims": [v.to_json() for v in claims],
        "profiles": profiles,
    }
    docs_dir = output.parent / "benchmarks"
    docs_dir.mkdir(parents=True, exist_ok=True)
    text = json.dumps(results, indent=1, default=str)
    (docs_dir / "results.json").write_text(text, encoding="utf-8")
    for verdict in targets + claims:
        console.print(f"  {report.MARKS.get(verdict.status, verdict.status)}: {verdict.statement}")
    return text


def render(results_path: Path, output: Path, *, merge: list[Path]) -> int:
    """Write the report again from a run's results.json: no server, no measurement. The
    scenarios of each `merge` run replace the same ones, and the report says so."""
    results = json.loads(results_path.read_text(encoding="utf-8"))
    meta = results["meta"]
    meta["rendered"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M")
    records = {record["name"]: record for record in results["records"]}
    profiles = results.get("profiles", [])
    svg_dir = output.parent / "benchmarks"
    for path in merge:
        later = json.loads(path.read_text(encoding="utf-8"))
        names = [record["name"] for record in later["records"]]
        records.update({record["name"]: record for record in later["records"]})
        replaced = [p for p in profiles if p["scenario"] in names]
        profiles = [p for p in profiles if p["scenario"] not in names]
        for profile in later.get("profiles", []):  # its flame graph comes along
            svg = Path(profile.get("svg") or "").name
            if svg and (path.parent / svg).exists():
                svg_dir.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path.parent / svg, svg_dir / svg)
            profiles.append(profile)
        kept = {Path(p.get("svg") or "").name for p in profiles}
        for profile in replaced:  # a flame graph nothing links any more goes
            svg = Path(profile.get("svg") or "").name
            if svg and svg not in kept:
                (svg_dir / svg).unlink(missing_ok=True)
        meta.setdefault("merged", [])
        meta["merged"] = [m for m in meta["merged"] if not set(m["scenarios"]) <= set(names)]
        meta["merged"].append(
            {
                "scenarios": names,
                **{
                    key: later["meta"].get(key)
                    for key in ("command", "mode", "started", "load_before", "load_after")
                },
            }
        )
    publish(output, meta=meta, records=records, profiles=profiles)
    console.print(f"[green]wrote {output}[/] from {results_path}")
    return 0


def compile_project() -> None:
    """Bytecode for the project's packages, beside their sources (what Python itself does
    on import when allowed to write it); a server that finds it skips compiling."""
    for package in ("gateway", "async_api", "legacy_flask", "shared", "bench"):
        compileall.compile_dir(ROOT / package, quiet=1)


def new_event_loop_ms(calls: int = 200) -> float:
    """What run_async()'s new event loop alone costs: create, run a no-op, close."""
    started = time.perf_counter()
    for _ in range(calls):
        loop = asyncio.new_event_loop()
        loop.run_until_complete(asyncio.sleep(0))
        loop.close()
    return (time.perf_counter() - started) / calls * 1000


def all_targets(records: dict[str, dict[str, Any]]) -> list[Verdict]:
    order = [
        "audit10",
        "burst1000",
        "throughput-postgresql",
        "throughput-sqlite",
        "hot-routes-postgresql",
        "hot-routes-sqlite",
        "shadow",
        "dashboard",
        "dashboard-cpu",
        "ingest",
        "digest",
        "jobs-drain",
    ]
    return [v for name in order for v in targets_for(name, records)]


def profile_missed(
    ctx: Context,
    scenario: Scenario,
    servers: dict[str, Any],
    verdict: Verdict,
    done: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    server = servers.get(verdict.subject or "")
    if server is None:
        return []
    limit = ctx.mode.profiles_per_scenario
    if limit and sum(p["scenario"] == scenario.name for p in done) >= limit:
        return []
    for earlier in done:
        if earlier["config"] == server.config.name and earlier["scenario"] == scenario.name:
            earlier.setdefault("also", []).append(verdict.statement)
            earlier.setdefault("also_keys", []).append(verdict.key)
            return []  # one profile per configuration and scenario is enough
    ctx.reporter.log(f"  profiling {server.config.name} ({ctx.mode.profile_s:g} s, py-spy)")
    recorded = profiling.record(
        server,
        name=verdict.key,
        out_dir=ctx.docs_dir,
        seconds=ctx.mode.profile_s,
        load=scenario.load(ctx, server),
    )
    if recorded.problem:
        ctx.reporter.log(f"  [yellow]{recorded.problem}[/]")
    entry = vars(recorded) | {
        "scenario": scenario.name,
        "target": verdict.statement,
        "key": verdict.key,
    }
    return [entry]
