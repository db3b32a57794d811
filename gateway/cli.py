"""`python -m gateway …`: serve, routes, lint, parity, migrate."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import glob
import logging
import os
import secrets
import shutil
import sys
import tempfile
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from rich.console import Console
from rich.table import Table

from shared.settings import Settings, get_settings

T = TypeVar("T")

# Wide enough for route tables when piped (rich assumes 80 columns off a terminal).
console = Console(width=None if sys.stdout.isatty() else 160)


async def prepare_database(settings: Settings) -> dict[str, int] | None:
    """Apply the migrations; load the demo data into an empty database when asked to."""
    from shared.database.engine import Database
    from shared.database.migrate import apply_migrations, seed_demo_if_empty

    db = Database(settings.database_url)
    await db.connect()
    try:
        await apply_migrations(db)
        return await seed_demo_if_empty(db) if settings.load_demo_data else None
    finally:
        await db.close()


def _prepare(settings: Settings) -> None:
    # A one-shot loop for the command itself; request handling never creates one.
    seeded = asyncio.run(prepare_database(settings))
    console.print(f"database ready: {_safe_url(settings.database_url)}")
    if seeded:
        console.print("demo data loaded: " + ", ".join(f"{k} {v}" for k, v in seeded.items()))


async def _database_answers(url: str) -> bool:
    from shared.database.engine import Database

    db = Database(url)
    try:
        await db.connect()
        await asyncio.wait_for(db.ping(), 5)
        return True
    except Exception:
        return False
    finally:
        await db.close()


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _host_metrics_dir() -> tuple[str, bool]:
    """An empty directory for every worker's Prometheus figures (prometheus-client's
    multiprocess mode), and whether serve made it (and so removes it at exit).

    Set before anything imports prometheus_client, which picks its mode on import; the
    workers inherit the variable. PROMETHEUS_MULTIPROC_DIR, when set, is used and emptied
    (the library needs it wiped between runs); else a fresh temporary directory."""
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if given:
        os.makedirs(given, exist_ok=True)
        for stale in glob.glob(os.path.join(given, "*.db")):
            os.remove(stale)
        return given, False
    made = tempfile.mkdtemp(prefix="gateway-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = made
    return made, True


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    metrics_dir, made = _host_metrics_dir()  # one /metrics for every worker of the host
    try:
        settings = get_settings()
        run_token = _admin_token_for_this_run(settings)
        if refusal := _manifest_refusal(settings):
            console.print(f"[red]refusing to start: {refusal}[/]")
            return 2
        _prepare(settings)
        console.print(
            f"[bold green]gateway serving on http://{args.host}:{args.port}/[/] "
            f"(webapp: http://{args.host}:{args.port}/webapp/, "
            f"status: http://{args.host}:{args.port}/_gateway/status)"
        )
        if run_token:
            console.print(
                f"admin token for this run: [bold]{run_token}[/] "
                f"(http://{args.host}:{args.port}/admin/; set ADMIN_TOKEN to choose one)",
                highlight=False,
            )
        uvicorn.run(
            "gateway.asgi:app",
            host=args.host,
            port=args.port,
            workers=args.workers,
            log_level=args.log_level,
            access_log=args.access_log,
            timeout_graceful_shutdown=settings.shutdown_grace_seconds,
            timeout_keep_alive=settings.keep_alive_seconds,
        )
    finally:
        if made:
            shutil.rmtree(metrics_dir, ignore_errors=True)
    return 0


def _admin_token_for_this_run(settings: Settings) -> str | None:
    """Development without ADMIN_TOKEN: a random token for this run, so that `/admin/` is
    usable at once. It goes into the environment, where the app and every worker read
    their settings; never in production, which refuses to start without a token."""
    if settings.environment == "production" or settings.admin_token:
        return None
    token = secrets.token_urlsafe(24)
    os.environ["ADMIN_TOKEN"] = token
    get_settings.cache_clear()  # gateway.asgi builds the app from get_settings()
    return token


def _manifest_refusal(settings: Settings) -> str | None:
    """A manifest the gateway cannot serve (`legacy_half: retired` while a route still
    needs Flask, among others): said once here, rather than as each worker's traceback."""
    from gateway.manifest import ManifestError, load_manifest

    try:
        load_manifest(settings.migration_manifest)
    except ManifestError as exc:
        return str(exc)
    return None


def cmd_migrate(_args: argparse.Namespace) -> int:
    _prepare(get_settings())
    return 0


async def _shared_figures(settings: Settings) -> tuple[dict, dict, str | None]:
    """Shadow counts and active rollbacks from the database every instance writes to."""
    from gateway import store
    from shared.database.engine import Database

    db = Database(settings.database_url)
    try:
        await db.connect()
        return await store.counters(db), await store.active_rollbacks(db), None
    except Exception as exc:
        return {}, {}, _explain(exc)
    finally:
        await db.close()


def _served_figures(url: str, token: str | None) -> tuple[dict[str, dict], str | None]:
    """Requests and errors per route and side, from a running gateway's status (they cover
    every worker of its host; no database holds them)."""
    import httpx

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        response = httpx.get(f"{url.rstrip('/')}/_gateway/status", headers=headers, timeout=5)
        response.raise_for_status()
        return {route["id"]: route["sides"] for route in response.json()["routes"]}, None
    except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
        return {}, f"no gateway status at {url} ({type(exc).__name__}: {exc}); use --gateway URL"


def _explain(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if "no such table" in text or "does not exist" in text:
        return f"{text} (run `python -m gateway migrate` first)"
    return text


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


def cmd_routes(args: argparse.Namespace) -> int:
    from gateway.manifest import ManifestError, load_manifest

    settings = get_settings()
    try:
        manifest = load_manifest(args.manifest or settings.migration_manifest)
    except ManifestError as exc:
        console.print(f"[red]{exc}[/]")
        return 1
    if args.corpus and not os.path.isdir(args.corpus):
        console.print(f"[red]--corpus {args.corpus}: no such directory[/]")
        return 1
    counters, rollbacks, problem = asyncio.run(_shared_figures(settings))
    served, unserved = _served_figures(args.gateway, settings.admin_token)
    verdicts, unjudged = _readiness(settings, manifest, served, args)
    if args.route:
        return _print_readiness(manifest, args.route, verdicts, unjudged or unserved)
    table = Table(title=f"{manifest.path} (version {manifest.version})")
    for column in ("route id", "method and path", "status", "legacy file", "parity"):
        # On one line each but the path, which wraps rather than loses its end.
        table.add_column(column, overflow="fold", no_wrap=column != "method and path")
    table.add_column("requests", justify="right")
    table.add_column("errors", justify="right")
    table.add_column("readiness", no_wrap=True)
    colours = {"legacy": "white", "shadow": "yellow", "canary": "cyan", "async": "green"}
    for entry in manifest.entries.values():
        status = entry.status + (f" {entry.percent}%" if entry.status == "canary" else "")
        status = f"[{colours[entry.status]}]{status}[/]"
        if entry.id in rollbacks:
            status += " [red]⟲ rolled back to legacy[/]"
        figures = counters.get(entry.id, {})
        comparisons = figures.get("shadow_comparisons", 0)
        differing = figures.get("shadow_mismatches", 0) + figures.get("shadow_errors", 0)
        sides = served.get(entry.id, {}).values()
        requests = sum(side["requests"] for side in sides)
        errors = sum(side["errors"] for side in sides)
        table.add_row(
            entry.id,
            f"{entry.method} {entry.path}",
            status,
            entry.legacy_file or "-",
            _percent(comparisons - differing, comparisons),
            str(requests) if served else "-",
            _percent(errors, requests),
            _verdict_cell(verdicts.get(entry.id)),
        )
    console.print(table)
    console.print(", ".join(f"{status}: {n}" for status, n in manifest.counts().items()))
    _print_reasons(manifest, verdicts)
    for route_id, rollback in rollbacks.items():
        console.print(
            f"[red]⟲ {route_id}[/] rolled back at {rollback['created_at']}: {rollback['reason']}"
        )
    _print_decisions(settings, manifest)  # pins, flips and canaries the file does not show
    if problem:
        console.print(f"[yellow]parity and rollbacks unavailable: {problem}[/]")
    if unserved:
        console.print(f"[yellow]requests and error rates unavailable: {unserved}[/]")
    if unjudged:
        console.print(f"[yellow]readiness without the database's evidence: {unjudged}[/]")
    return 0


_VERDICT_COLOURS = {
    "not ready": "red",
    "ready to canary": "yellow",
    "ready to flip": "cyan",
    "fully migrated": "green",
}


def _readiness(
    settings: Settings, manifest: Any, served: dict[str, dict], args: argparse.Namespace
) -> tuple[dict[str, Any], str | None]:
    """Every route's readiness verdict (gateway/readiness.py) and, if the database could
    not be read, why (the verdicts then stand on the files and traffic alone)."""
    from datetime import timedelta
    from pathlib import Path

    from gateway import readiness

    problem = None
    try:
        figures = asyncio.run(_in_database(settings, readiness.database_figures))
    except Exception as exc:
        problem = _explain(exc)
        figures = {"decisions": [], "rollbacks": [], "overrides": []}
    corpus = readiness.case_counts(Path(args.corpus)) if args.corpus else readiness.case_counts()
    verdicts = readiness.readiness(
        manifest,
        counters=figures.get("counters", {}),
        recordings=figures.get("recordings", {}),
        decisions=figures["decisions"],
        rollbacks=figures["rollbacks"],
        overrides=figures["overrides"],
        canary_runs=figures.get("canary_runs", {}),
        served=served,
        corpus=corpus,
        committed=readiness.committed_counts(),
        fully_after=timedelta(days=args.days),
    )
    return verdicts, problem


def _verdict_cell(verdict: Any) -> str:
    if verdict is None:
        return "-"
    return f"[{_VERDICT_COLOURS[verdict.verdict]}]{verdict.verdict}[/]"


def _print_reasons(manifest: Any, verdicts: dict[str, Any]) -> None:
    """Under the table: the verdicts in numbers, and why, for the routes still migrating
    (not on async in the file) and any route that is not ready."""
    tally: dict[str, int] = {}
    for verdict in verdicts.values():
        tally[verdict.verdict] = tally.get(verdict.verdict, 0) + 1
    order = list(_VERDICT_COLOURS)
    console.print(
        "readiness: "
        + ", ".join(f"{name}: {tally[name]}" for name in order if name in tally)
        + " (`routes --route ID` for the evidence)"
    )
    for route_id, verdict in verdicts.items():
        if manifest.entries[route_id].status != "async" or verdict.verdict == "not ready":
            console.print(
                f"  {route_id}: {_verdict_cell(verdict)} — {verdict.reason}", highlight=False
            )


def _print_readiness(
    manifest: Any, route_id: str, verdicts: dict[str, Any], problem: str | None
) -> int:
    """`routes --route ID`: one route's verdict and every figure behind it."""
    if route_id not in verdicts:
        console.print(f"[red]{route_id} is not in the manifest[/]")
        return 1
    entry, verdict = manifest.entries[route_id], verdicts[route_id]
    status = entry.status + (f" {entry.percent}%" if entry.status == "canary" else "")
    console.print(f"[bold]{route_id}[/] {entry.method} {entry.path} ({status})", highlight=False)
    console.print(f"verdict: {_verdict_cell(verdict)} — {verdict.reason}", highlight=False)
    for line in verdict.lines():
        console.print(f"  {line}", highlight=False)
    if problem:
        console.print(f"[yellow]evidence incomplete: {problem}[/]")
    return 0


def _operator() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user name in this environment (some containers)
        return "unknown"


def _canary_from(args: argparse.Namespace) -> dict[str, Any] | None:
    """`flip ROUTE canary --steps 5,25,50 …`: a progressive canary's rules, as in the file."""
    if not args.steps:
        return None
    try:
        steps = [int(step) for step in args.steps.split(",")]
    except ValueError:
        steps = []
    rules: dict[str, Any] = {"steps": steps}
    for name in (
        "interval_seconds",
        "min_requests",
        "max_error_rate_delta",
        "max_p95_ratio",
        "min_parity_rate",
    ):
        if getattr(args, name) is not None:
            rules[name] = getattr(args, name)
    return rules


async def _in_database(settings: Settings, work: Callable[[Any], Awaitable[T]]) -> T:
    from shared.database.engine import Database

    db = Database(settings.database_url)
    try:
        await db.connect()
        return await work(db)
    finally:
        await db.close()


def cmd_flip(args: argparse.Namespace) -> int:
    """The file on this host, and on PostgreSQL an override every instance applies."""
    from gateway import store
    from gateway.flip import FlipError, plan_flip
    from gateway.manifest import canary_problems
    from gateway.overrides import FLIP

    settings = get_settings()
    path = args.manifest or settings.migration_manifest
    canary = _canary_from(args)
    try:
        if canary is not None and (problems := canary_problems(canary, "--steps and friends")):
            raise FlipError("; ".join(problems))
        planned = plan_flip(path, args.route_id, args.status, percent=args.percent, canary=canary)
    except (FlipError, OSError) as exc:
        console.print(f"[red]{exc}[/]")
        return 1
    by, reason = args.by or _operator(), args.reason or ""
    suffix = f" {args.percent}%" if args.percent is not None else ""
    if canary is not None:
        suffix = " " + " → ".join(f"{step}%" for step in canary["steps"])

    if settings.is_sqlite:
        # One host: the file is the whole truth, as before; the database keeps the history.
        planned.write()
        change = f"{planned.previous} → [bold]{args.status}{suffix}[/]"
        console.print(f"{args.route_id}: {change} in {path}")

        async def note(db: Any) -> int:
            await store.record_decision(
                db,
                route_id=args.route_id,
                kind=FLIP,
                status=args.status,
                percent=args.percent,
                actor=by,
                reason=reason,
                figures={"canary": canary} if canary else None,
            )
            return await store.clear_rollbacks(db, route_ids=[args.route_id])

        try:
            if asyncio.run(_in_database(settings, note)):
                console.print(f"automatic rollback of {args.route_id} cleared")
        except Exception as exc:
            console.print(f"[yellow]could not record the flip in the database: {_explain(exc)}[/]")
        console.print("running gateways pick the change up within seconds (or send SIGHUP)")
        return 0

    async def record(db: Any) -> None:
        await store.set_override(
            db,
            route_id=args.route_id,
            kind=FLIP,
            status=args.status,
            percent=args.percent,
            canary=canary,
            actor=by,
            reason=reason,
            base_version=planned.base_version,
            entry_version=planned.entry_version,
        )

    try:  # recorded first: a flip other instances would never see is not made at all
        asyncio.run(_in_database(settings, record))
    except Exception as exc:
        console.print(f"[red]flip not made: cannot record it in the database ({_explain(exc)})[/]")
        return 1
    planned.write()
    console.print(
        f"{args.route_id}: {planned.previous} → [bold]{args.status}{suffix}[/] in {path} "
        f"and in the database (by {by}); every instance applies it within seconds"
    )
    return 0


def cmd_pin(args: argparse.Namespace) -> int:
    from gateway import store
    from gateway.overrides import PIN

    settings = get_settings()
    by = args.by or _operator()

    async def pin(db: Any) -> None:
        await store.set_override(
            db, route_id=args.route_id, kind=PIN, status=args.status, actor=by, reason=args.reason
        )

    if not _known_route(settings, args.route_id, args.manifest):
        return 1
    try:
        asyncio.run(_in_database(settings, pin))
    except Exception as exc:
        console.print(f"[red]not pinned: {_explain(exc)}[/]")
        return 1
    console.print(
        f"{args.route_id}: pinned to [bold]{args.status}[/] by {by} ({args.reason}); "
        "it wins over the file and any flip until `python -m gateway unpin`"
    )
    return 0


def cmd_unpin(args: argparse.Namespace) -> int:
    from gateway import store
    from gateway.overrides import PIN

    settings = get_settings()
    by = args.by or _operator()

    async def unpin(db: Any) -> bool:
        return await store.remove_override(
            db, route_id=args.route_id, kind=PIN, actor=by, reason=args.reason or ""
        )

    try:
        removed = asyncio.run(_in_database(settings, unpin))
    except Exception as exc:
        console.print(f"[red]not unpinned: {_explain(exc)}[/]")
        return 1
    if not removed:
        console.print(f"{args.route_id}: not pinned")
        return 1
    console.print(f"{args.route_id}: unpinned by {by}; the flip or the file decides again")
    return 0


def _known_route(settings: Settings, route_id: str, manifest: str | None) -> bool:
    from gateway.manifest import ManifestError, load_manifest

    try:
        entries = load_manifest(manifest or settings.migration_manifest).entries
    except ManifestError as exc:
        console.print(f"[red]{exc}[/]")
        return False
    if route_id not in entries:
        console.print(f"[red]{route_id} is not in the manifest[/]")
        return False
    return True


def cmd_history(args: argparse.Namespace) -> int:
    from gateway import store

    settings = get_settings()

    async def read(db: Any) -> list[dict[str, Any]]:
        return await store.decisions(db, limit=args.limit, route_id=args.route)

    try:
        rows = asyncio.run(_in_database(settings, read))
    except Exception as exc:
        console.print(f"[red]cannot read the history: {_explain(exc)}[/]")
        return 1
    if not rows:
        console.print("no decisions recorded yet")
        return 0
    table = Table(title="decisions (newest first)")
    for column in ("at", "route id", "decision", "status", "by", "why"):
        table.add_column(column)
    for row in rows:
        table.add_row(*_decision_cells(row))
    console.print(table)
    return 0


def _decision_cells(row: dict[str, Any]) -> tuple[str, ...]:
    status = row["status"] or "-"
    if row["percent"] is not None:
        status += f" {row['percent']}%"
    why = row["reason"]
    figures = row.get("figures") or {}
    for side in ("async", "legacy"):
        if isinstance(figures.get(side), dict):
            side_figures = figures[side]
            why += (
                f" [{side}: {side_figures['requests']} req, {side_figures['failures']} failed,"
                f" p95 {side_figures['p95_ms']} ms]"
            )
    return (row["created_at"], row["route_id"], row["kind"], status, row["actor"], why)


async def _control_state(settings: Settings) -> tuple[list, dict, list]:
    from gateway import store

    async def read(db: Any) -> tuple[list, dict, list]:
        return (
            await store.active_overrides(db),
            await store.latest_canary_runs(db),
            await store.decisions(db, limit=10),
        )

    return await _in_database(settings, read)


def _print_decisions(settings: Settings, manifest: Any) -> None:
    """Under `routes`: the live overrides and canaries (with the file's status beside them)
    and the latest decisions."""
    from gateway.overrides import by_route, decided_entry

    try:
        rows, runs, recent = asyncio.run(_control_state(settings))
    except Exception as exc:
        console.print(f"[yellow]operator decisions unavailable: {_explain(exc)}[/]")
        return
    written = _file_written_at(manifest.path)
    for route_id, kinds in by_route(rows).items():
        entry = manifest.entries.get(route_id)
        if entry is None:
            continue
        _, override = decided_entry(entry, kinds, edited_at=None, file_written_at=written)
        for kind, item in sorted(kinds.items()):
            live = "in force" if override is item else "[dim]not in force here[/]"
            console.print(
                f"[magenta]{kind}[/] {route_id}: file says {entry.status}, {kind} says "
                f"[bold]{item.status}[/] ({live}) by {item.actor} at "
                f"{item.created_at:%Y-%m-%dT%H:%M:%SZ}: {item.reason or '(no reason given)'}"
            )
    for route_id, run in runs.items():
        steps = " → ".join(f"{step}%" for step in run["steps"])
        console.print(
            f"[cyan]canary[/] {route_id}: {run['state']} at step {run['step_index'] + 1} "
            f"of {steps} (since {run['step_started_at']:%Y-%m-%dT%H:%M:%SZ})"
        )
    if recent:
        console.print("recent decisions (`python -m gateway history` for more):")
        for row in recent:
            at, route_id, kind, status, actor, why = _decision_cells(row)
            console.print(f"  {at} {route_id} [bold]{kind}[/] {status} by {actor}: {why}")


def _file_written_at(path: str) -> Any:
    from datetime import UTC, datetime

    try:
        return datetime.fromtimestamp(os.stat(path).st_mtime, UTC).replace(tzinfo=None)
    except OSError:
        return None


def cmd_shadow_report(args: argparse.Namespace) -> int:
    from gateway import store
    from shared.database.engine import Database

    settings = get_settings()

    async def read() -> tuple[dict, list]:
        db = Database(settings.database_url)
        try:
            await db.connect()
            counters = await store.counters(db)
            results = await store.shadow_results(db, limit=args.limit, route_id=args.route)
            return counters, results
        finally:
            await db.close()

    try:
        counters, results = asyncio.run(read())
    except Exception as exc:
        console.print(f"[red]cannot read the shadow report: {_explain(exc)}[/]")
        return 1
    table = Table(title="shadow comparisons (every worker)")
    for column in ("route id", "compared", "mismatches", "noise", "errors", "skipped", "parity"):
        table.add_column(column)
    shown = 0
    for route_id, figures in sorted(counters.items()):
        compared = figures.get("shadow_comparisons", 0)
        if not compared and not figures.get("shadow_skipped"):
            continue
        if args.route and route_id != args.route:
            continue
        differing = figures.get("shadow_mismatches", 0) + figures.get("shadow_errors", 0)
        table.add_row(
            route_id,
            str(compared),
            str(figures.get("shadow_mismatches", 0)),
            str(figures.get("shadow_noise", 0)),
            str(figures.get("shadow_errors", 0)),
            str(figures.get("shadow_skipped", 0)),
            _percent(compared - differing, compared),
        )
        shown += 1
    if not shown:
        console.print("no shadow comparisons recorded yet")
        return 0
    console.print(table)
    for row in results:
        query = f"?{row['query']}" if row["query"] else ""
        colour = {"mismatch": "red", "noise": "yellow", "error": "magenta"}[row["kind"]]
        console.print(
            f"[{colour}]{row['kind']}[/] {row['created_at']} {row['route_id']}: "
            f"{row['method']} {row['path']}{query} "
            f"(legacy {row['legacy_status']}, async {row['async_status']})"
        )
        for difference in row["differences"][:10]:
            console.print(
                f"    {difference['path']}: legacy {difference['legacy']!r} "
                f"≠ async {difference['async']!r}"
            )
    return 0


def cmd_sync_manifest(args: argparse.Namespace) -> int:
    from gateway.flip import add_missing_routes
    from gateway.lint import flask_routes

    settings = get_settings()
    path = args.manifest or settings.migration_manifest
    added = add_missing_routes(path, flask_routes(settings))
    for route_id in added:
        console.print(f"[green]+[/] {route_id} (legacy)")
    console.print(f"{path}: {len(added)} route(s) added, existing entries untouched")
    return 0


def cmd_clear_rollback(args: argparse.Namespace) -> int:
    from gateway import store
    from shared.database.engine import Database

    settings = get_settings()

    async def clear() -> int:
        db = Database(settings.database_url)
        try:
            await db.connect()
            return await store.clear_rollbacks(db, route_ids=[args.route_id])
        finally:
            await db.close()

    cleared = asyncio.run(clear())
    console.print(f"{args.route_id}: {'cleared' if cleared else 'no active rollback'}")
    return 0


def cmd_lint(args: argparse.Namespace) -> int:
    from gateway.lint import lint

    settings = get_settings()
    problems = lint(settings, args.manifest)
    path = args.manifest or settings.migration_manifest
    if problems:
        for problem in problems:
            console.print(f"[red]✗[/] {problem}")
        console.print(f"[red]{path}: {len(problems)} problem(s)[/]")
        return 1
    console.print(f"[green]✓[/] {path}: every Flask route listed, every non-legacy route served")
    return 0


def cmd_parity(args: argparse.Namespace) -> int:
    from gateway.parity import run_parity
    from gateway.recording import RECORDED_DIR

    settings = get_settings()
    database_url = args.database_url or settings.database_url
    if not database_url.startswith("sqlite") and not asyncio.run(_database_answers(database_url)):
        if os.environ.get("CI", "").lower() == "true":
            console.print(f"[red]parity: no database at {_safe_url(database_url)} (CI=true)[/]")
            return 1
        console.print(f"[yellow]parity skipped: no database at {_safe_url(database_url)}[/]")
        return 0
    report = asyncio.run(
        run_parity(
            settings,
            database_url=database_url,
            manifest_path=args.manifest,
            only=args.route,
            console=console,
            recorded=[path or RECORDED_DIR for path in args.recorded or [""] * args.recorded_only],
            corpus=not args.recorded_only,
        )
    )
    return 0 if report.ok else 1


def cmd_record(args: argparse.Namespace) -> int:
    """Recording live requests (and shadow mismatches) as parity cases; their export."""
    from pathlib import Path

    from gateway import recording
    from gateway.flip import FlipError

    settings = get_settings()
    if args.action in ("on", "off"):
        if not args.route_ids and not args.all:
            console.print("[red]name route ids, or --all for the whole gateway[/]")
            return 1
        rate = args.sample_rate if args.action == "on" else None
        path = args.manifest or settings.migration_manifest
        try:
            recording.set_recording(path, [] if args.all else args.route_ids, rate)
        except (FlipError, OSError) as exc:
            console.print(f"[red]{exc}[/]")
            return 1
        what = "every route" if args.all else ", ".join(args.route_ids)
        state = f"on at a sample rate of {rate}" if rate is not None else "off"
        console.print(f"recording {state} for {what} in {path}; gateways follow within seconds")
        return 0

    async def work(db: Any) -> Any:
        if args.action == "list":
            return await recording.recording_counts(db)
        if args.action == "clear":
            return await recording.clear_recordings(db, route_ids=args.route_ids)
        return await recording.recordings(db, route_ids=args.route_ids, source=args.source)

    try:
        found = asyncio.run(_in_database(settings, work))
    except Exception as exc:
        console.print(f"[red]cannot read the recordings: {_explain(exc)}[/]")
        return 1
    if args.action == "clear":
        console.print(f"{found} recorded case(s) removed")
        return 0
    if args.action == "list":
        table = Table(title="recorded cases (every worker, every instance)")
        for column in ("route id", "sampled", "shadow mismatches"):
            table.add_column(column)
        for route_id, counts in sorted(found.items()):
            table.add_row(
                route_id,
                str(counts.get(recording.SAMPLE, 0)),
                str(counts.get(recording.MISMATCH, 0)),
            )
        console.print(table if found else "no recorded cases yet")
        return 0
    out = Path(args.out)
    added, known = recording.export_cases(found, out)
    console.print(
        f"{out}: {added} case(s) added, {known} already there (same route and request shape); "
        f"replay with `python -m gateway parity --recorded {out}`"
    )
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    """Run background jobs (PostgreSQL): as many of these as needed, on any machine."""
    from shared.jobs.worker import WorkerRefused, run_worker_process

    settings = get_settings()
    concurrency = args.concurrency or settings.jobs_concurrency
    console.print(
        f"job worker: {_safe_url(settings.database_url)}, queue {settings.jobs_queue!r}, "
        f"{concurrency} at a time (SIGTERM: finish within "
        f"{settings.jobs_shutdown_grace_seconds:g} s, then hand back)"
    )
    try:
        asyncio.run(run_worker_process(settings, concurrency=concurrency))
    except WorkerRefused as exc:
        console.print(f"[red]{exc}[/]")
        return 2
    return 0


def cmd_jobs(args: argparse.Namespace) -> int:
    """The job queue per task, then the most recent jobs with their state and errors."""
    settings = get_settings()
    if settings.is_sqlite:
        console.print(
            "[red]SQLite keeps the job queue in the gateway's memory: see /metrics or the "
            "dashboard (/_gateway/) of the running gateway; set DATABASE_URL to PostgreSQL "
            "to list jobs here[/]"
        )
        return 2
    try:
        figures, jobs = asyncio.run(_jobs_listing(settings, args))
    except Exception as exc:
        console.print(f"[red]jobs: {_explain(exc)}[/]")
        return 1
    tasks = Table(title=f"queue {settings.jobs_queue!r}")
    for column in ("task", "queued", "running", "failed", "stalled"):
        tasks.add_column(column, justify="left" if column == "task" else "right")
    for row in figures:
        tasks.add_row(
            row["task"], *(str(row[key]) for key in ("queued", "running", "failed", "stalled"))
        )
    console.print(tasks)
    # One job a line (its error on the next), so that ids and errors stay whole.
    console.print(f"{len(jobs)} most recent job(s), newest first:")
    for job in jobs:
        arguments = " ".join(f"{key}={value}" for key, value in job["args"].items())
        line = (
            f"#{job['id']}  {job['task']}  {job['status']}  attempts {job['attempts']}  "
            f"{job['updated_at'] or '-'}  {arguments}"
        )
        console.print(line, markup=False, highlight=False, soft_wrap=True)
        if job["error"]:
            console.print(
                f"    error: {job['error']}", markup=False, highlight=False, soft_wrap=True
            )
    return 0


async def _jobs_listing(
    settings: Settings, args: argparse.Namespace
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    from shared.jobs.queue import JobQueue
    from shared.jobs.stats import job_figures, recent_jobs

    queue = JobQueue(settings)
    await queue.open()
    try:
        figures = await job_figures(queue)
    finally:
        await queue.close()

    async def listing(db: Any) -> list[dict[str, Any]]:
        return await recent_jobs(
            db, queue=settings.jobs_queue, limit=args.limit, task=args.task, status=args.status
        )

    return figures, await _in_database(settings, listing)


def cmd_retire(args: argparse.Namespace) -> int:
    """Legacy files whose every route has been on async long enough, without a rollback."""
    from datetime import timedelta

    from gateway.manifest import ManifestError, load_manifest
    from gateway.retirement import database_evidence, retirement

    settings = get_settings()
    try:
        manifest = load_manifest(args.manifest or settings.migration_manifest)
    except ManifestError as exc:
        console.print(f"[red]{exc}[/]")
        return 1
    try:
        evidence = asyncio.run(_in_database(settings, database_evidence))
    except Exception as exc:
        console.print(f"[yellow]no decisions or rollbacks from the database: {_explain(exc)}[/]")
        evidence = {"decisions": [], "rollbacks": [], "overrides": []}
    verdicts = retirement(
        manifest,
        min_age=timedelta(days=args.days),
        decisions=evidence["decisions"],
        rollbacks=evidence["rollbacks"],
        overrides=evidence["overrides"],
    )
    table = Table(title=f"legacy files (ready: every route on async {args.days:g}+ days)")
    for column in ("legacy file", "routes", "verdict", "why"):
        table.add_column(column)
    for verdict in verdicts:
        state = "[green]ready to delete[/]" if verdict.ready else "[yellow]not yet[/]"
        table.add_row(verdict.legacy_file, str(len(verdict.routes)), state, verdict.reason)
    console.print(table)
    for verdict in (v for v in verdicts if v.ready):
        console.print(f"[green]{verdict.legacy_file}[/] can go, with:")
        for blueprint in verdict.blueprints:
            console.print(f"  blueprint {blueprint}")
        for name in verdict.templates:
            console.print(f"  template {name} (no other code names it)")
        for helper in verdict.helpers:
            console.print(f"  helper {helper} (only ready files import it)")
    ready = sum(1 for verdict in verdicts if verdict.ready)
    console.print(f"{ready} of {len(verdicts)} legacy files ready to delete")
    if verdicts and ready == len(verdicts):
        console.print(
            "every legacy file is ready to delete: `legacy_half: retired` in the manifest "
            "serves without loading Flask (docs/migration.md)"
        )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m gateway", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="migrate, seed (if asked) and serve the gateway")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--log-level", default="info")
    serve.add_argument("--access-log", action="store_true")
    serve.set_defaults(handler=cmd_serve)

    migrate = commands.add_parser("migrate", help="apply migrations (and demo data) only")
    migrate.set_defaults(handler=cmd_migrate)

    routes = commands.add_parser("routes", help="list every route with its status")
    routes.add_argument("--manifest")
    routes.add_argument(
        "--gateway",
        default="http://127.0.0.1:8000",
        help="a running gateway whose host's request and error figures to show",
    )
    routes.add_argument("--route", help="one route's readiness and the evidence behind it")
    routes.add_argument(
        "--days",
        type=float,
        default=14,
        help="time on async without a rollback that makes a route fully migrated (default 14)",
    )
    routes.add_argument("--corpus", help="the parity corpus to count (default tests/parity/corpus)")
    routes.set_defaults(handler=cmd_routes)

    lint = commands.add_parser("lint", help="check the manifest against both halves")
    lint.add_argument("--manifest")
    lint.set_defaults(handler=cmd_lint)

    flip = commands.add_parser(
        "flip",
        help="set a route's status in the manifest (and, on PostgreSQL, for every instance)",
    )
    flip.add_argument("route_id")
    flip.add_argument("status", choices=["legacy", "shadow", "canary", "async"])
    flip.add_argument("--percent", type=int, help="for canary: the share of users on async")
    flip.add_argument("--by", help="who decides (default: the OS user)")
    flip.add_argument("--reason", help="why, for the history")
    flip.add_argument("--steps", help="progressive canary: percents per step, e.g. 5,25,50")
    flip.add_argument("--interval", dest="interval_seconds", type=float, help="seconds per step")
    flip.add_argument("--min-requests", type=int, help="async answers a step needs")
    flip.add_argument("--max-error-rate-delta", type=float, help="async minus legacy, 0..1")
    flip.add_argument("--max-p95-ratio", type=float, help="async p95 over legacy p95")
    flip.add_argument("--min-parity-rate", type=float, help="shadow the legacy share, 0..1")
    flip.add_argument("--manifest")
    flip.set_defaults(handler=cmd_flip)

    pin = commands.add_parser(
        "pin", help="emergency: pin a route to one half on every instance (no file edit)"
    )
    pin.add_argument("route_id")
    pin.add_argument("status", choices=["legacy", "async"])
    pin.add_argument("--reason", required=True, help="why, for the history and the dashboard")
    pin.add_argument("--by", help="who decides (default: the OS user)")
    pin.add_argument("--manifest")
    pin.set_defaults(handler=cmd_pin)

    unpin = commands.add_parser("unpin", help="remove a route's pin")
    unpin.add_argument("route_id")
    unpin.add_argument("--reason", help="why, for the history")
    unpin.add_argument("--by", help="who decides (default: the OS user)")
    unpin.set_defaults(handler=cmd_unpin)

    history = commands.add_parser("history", help="flips, pins and canary decisions")
    history.add_argument("--route", help="only this route id")
    history.add_argument("--limit", type=int, default=30)
    history.set_defaults(handler=cmd_history)

    report = commands.add_parser("shadow-report", help="shadow comparisons and mismatches")
    report.add_argument("--route", help="only this route id")
    report.add_argument("--limit", type=int, default=20, help="recent mismatches to show")
    report.set_defaults(handler=cmd_shadow_report)

    sync = commands.add_parser(
        "sync-manifest", help="add Flask routes missing from the manifest (as legacy)"
    )
    sync.add_argument("--manifest")
    sync.set_defaults(handler=cmd_sync_manifest)

    clear = commands.add_parser("clear-rollback", help="end a route's automatic rollback")
    clear.add_argument("route_id")
    clear.set_defaults(handler=cmd_clear_rollback)

    parity = commands.add_parser("parity", help="replay the corpus against both halves")
    parity.add_argument("--database-url", help="backend to run on (default: DATABASE_URL)")
    parity.add_argument("--manifest")
    parity.add_argument("--route", action="append", help="only this route id (repeatable)")
    parity.add_argument(
        "--recorded",
        nargs="?",
        action="append",
        const="",  # the committed cases: tests/parity/recorded/
        help="also replay recorded cases: a file or directory (default tests/parity/recorded)",
    )
    parity.add_argument(
        "--recorded-only", action="store_true", help="the recorded cases without the corpus"
    )
    parity.set_defaults(handler=cmd_parity)

    retire = commands.add_parser(
        "retire", help="legacy files every route of which has been on async long enough"
    )
    retire.add_argument(
        "--days", type=float, default=14, help="time on async without a rollback (default 14)"
    )
    retire.add_argument("--manifest")
    retire.set_defaults(handler=cmd_retire)

    record = commands.add_parser(
        "record", help="record live requests as parity cases; list, export or clear them"
    )
    record.add_argument("action", choices=["on", "off", "list", "export", "clear"])
    record.add_argument("route_ids", nargs="*", help="route ids (on/off; export/clear: filter)")
    record.add_argument("--all", action="store_true", help="on/off: the whole gateway")
    record.add_argument("--sample-rate", type=float, default=1.0, help="on: share recorded")
    record.add_argument("--source", choices=["sample", "mismatch"], help="export: only these")
    record.add_argument(
        "--out", default="tests/parity/recorded/recorded.yaml", help="export: the file"
    )
    record.add_argument("--manifest")
    record.set_defaults(handler=cmd_record)

    worker = commands.add_parser(
        "worker", help="run background jobs (PostgreSQL; run `migrate` or `serve` first)"
    )
    worker.add_argument(
        "--concurrency", type=int, help="jobs at a time (default: JOBS_CONCURRENCY)"
    )
    worker.set_defaults(handler=cmd_worker)

    jobs = commands.add_parser(
        "jobs", help="the job queue per task and recent jobs with their errors (PostgreSQL)"
    )
    jobs.add_argument("--limit", type=int, default=20, help="recent jobs to list (default 20)")
    jobs.add_argument("--task", help="only this task, e.g. feeds.ingest")
    jobs.add_argument(
        "--status", choices=["todo", "doing", "succeeded", "failed", "cancelled", "aborted"]
    )
    jobs.set_defaults(handler=cmd_jobs)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a clear line, not a stack trace, for a mistyped setting
        if "refusing to start" in str(exc) or "validation error" in str(exc).lower():
            console.print(f"[red]{exc}[/]")
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
