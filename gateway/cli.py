"""`python -m gateway …`: serve, routes, lint, parity, migrate."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys

from rich.console import Console
from rich.table import Table

from shared.settings import Settings, get_settings

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


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    settings = get_settings()
    _prepare(settings)
    console.print(
        f"[bold green]gateway serving on http://{args.host}:{args.port}/[/] "
        f"(webapp: http://{args.host}:{args.port}/webapp/, "
        f"status: http://{args.host}:{args.port}/_gateway/status)"
    )
    uvicorn.run(
        "gateway.asgi:app",
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=args.log_level,
        access_log=args.access_log,
    )
    return 0


def cmd_migrate(_args: argparse.Namespace) -> int:
    _prepare(get_settings())
    return 0


async def _shared_figures(settings: Settings) -> tuple[dict, dict, str | None]:
    """Counters and active rollbacks from the database every worker writes to."""
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
    counters, rollbacks, problem = asyncio.run(_shared_figures(settings))
    table = Table(title=f"{manifest.path} (version {manifest.version})")
    for column in ("route id", "method", "path", "status", "legacy file", "parity", "errors"):
        table.add_column(column)
    colours = {"legacy": "white", "shadow": "yellow", "canary": "cyan", "async": "green"}
    for entry in manifest.entries.values():
        status = entry.status + (f" {entry.percent}%" if entry.status == "canary" else "")
        status = f"[{colours[entry.status]}]{status}[/]"
        if entry.id in rollbacks:
            status += " [red]⟲ rolled back to legacy[/]"
        figures = counters.get(entry.id, {})
        comparisons = figures.get("shadow_comparisons", 0)
        differing = figures.get("shadow_mismatches", 0) + figures.get("shadow_errors", 0)
        requests = figures.get("requests_async", 0) + figures.get("requests_legacy", 0)
        errors = figures.get("errors_async", 0) + figures.get("errors_legacy", 0)
        table.add_row(
            entry.id,
            entry.method,
            entry.path,
            status,
            entry.legacy_file or "-",
            _percent(comparisons - differing, comparisons),
            _percent(errors, requests),
        )
    console.print(table)
    console.print(", ".join(f"{status}: {n}" for status, n in manifest.counts().items()))
    for route_id, rollback in rollbacks.items():
        console.print(
            f"[red]⟲ {route_id}[/] rolled back at {rollback['created_at']}: {rollback['reason']}"
        )
    if problem:
        console.print(f"[yellow]parity and error rates unavailable: {problem}[/]")
    return 0


def cmd_flip(args: argparse.Namespace) -> int:
    from gateway import store
    from gateway.flip import FlipError, flip_route
    from shared.database.engine import Database

    settings = get_settings()
    path = args.manifest or settings.migration_manifest
    try:
        previous = flip_route(path, args.route_id, args.status, percent=args.percent)
    except (FlipError, OSError) as exc:
        console.print(f"[red]{exc}[/]")
        return 1
    suffix = f" {args.percent}%" if args.status == "canary" else ""
    console.print(f"{args.route_id}: {previous} → [bold]{args.status}{suffix}[/] in {path}")

    async def clear() -> int:
        db = Database(settings.database_url)
        try:
            await db.connect()
            return await store.clear_rollbacks(db, route_ids=[args.route_id])
        finally:
            await db.close()

    try:
        if asyncio.run(clear()):
            console.print(f"automatic rollback of {args.route_id} cleared")
    except Exception as exc:
        console.print(f"[yellow]could not clear rollbacks in the database: {exc}[/]")
    console.print("running gateways pick the change up within seconds (or send SIGHUP)")
    return 0


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
        )
    )
    return 0 if report.ok else 1


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
    routes.set_defaults(handler=cmd_routes)

    lint = commands.add_parser("lint", help="check the manifest against both halves")
    lint.add_argument("--manifest")
    lint.set_defaults(handler=cmd_lint)

    flip = commands.add_parser("flip", help="set a route's status in the manifest")
    flip.add_argument("route_id")
    flip.add_argument("status", choices=["legacy", "shadow", "canary", "async"])
    flip.add_argument("--percent", type=int, help="for canary: the share of users on async")
    flip.add_argument("--manifest")
    flip.set_defaults(handler=cmd_flip)

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
    parity.set_defaults(handler=cmd_parity)
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
