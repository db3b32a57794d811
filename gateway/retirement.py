"""`python -m gateway retire`: which legacy files no route needs any more.

A legacy file is ready to delete when every route it serves has been on `async` for at
least the given time without a rollback, and nothing sends it back to Flask (a pin, a flip
to legacy, an automatic rollback still in force). How long a route has been on `async`:
the manifest's git history (the oldest commit of the unbroken run of `async` up to now;
an uncommitted change counts from the file's modification time), moved later by any
decision in the database that took it off `async` (a flip, a pin, a canary verdict, an
automatic rollback) — then it counts from the first decision that put it back.

With a ready file go its blueprint, the templates only it names and the `legacy_flask`
helper modules that only ready files import.
"""

from __future__ import annotations

import ast
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from gateway.manifest import Manifest

ROOT = Path(__file__).resolve().parent.parent
SOURCE_PACKAGES = ("legacy_flask", "async_api", "shared", "gateway", "bench")
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass
class FileVerdict:
    legacy_file: str
    routes: list[str]
    ready: bool
    reason: str
    async_since: datetime | None
    blueprints: list[str] = field(default_factory=list)
    templates: list[str] = field(default_factory=list)
    helpers: list[str] = field(default_factory=list)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def async_since_from_file(manifest: Manifest) -> dict[str, datetime | None]:
    """Route -> since when the manifest has said `async` without a break (None: it does not)."""
    path = Path(manifest.path).resolve()
    modified = datetime.fromtimestamp(path.stat().st_mtime, UTC).replace(tzinfo=None)
    since: dict[str, datetime | None] = {
        route_id: modified if entry.status == "async" else None
        for route_id, entry in manifest.entries.items()
    }
    history = _git_history(path)
    if not history:
        return since
    open_runs = {route_id for route_id, at in since.items() if at is not None}
    # Newest first; a route async in the file but not in the last commit keeps the mtime.
    for at, statuses in history:
        for route_id in list(open_runs):
            if statuses.get(route_id) != "async":
                open_runs.discard(route_id)  # the run of async began after this commit
            else:
                since[route_id] = at
        if not open_runs:
            break
    return since


def _git_history(path: Path) -> list[tuple[datetime, dict[str, str]]]:
    """The manifest's committed versions, newest first: (commit time, route -> status)."""
    try:
        top = _git(path.parent, "rev-parse", "--show-toplevel").strip()
        relative = path.relative_to(top).as_posix()
        log = _git(path.parent, "log", "--format=%H %ct", "--", relative)
    except (OSError, subprocess.SubprocessError, ValueError):
        return []
    history = []
    for line in log.splitlines():
        commit, stamp = line.split()
        try:
            document = yaml.load(_git(path.parent, "show", f"{commit}:{relative}"), _Loader)
        except (subprocess.SubprocessError, yaml.YAMLError):
            continue
        routes = (document or {}).get("routes") or {}
        statuses = {k: str(v.get("status")) for k, v in routes.items() if isinstance(v, dict)}
        history.append((datetime.fromtimestamp(int(stamp), UTC).replace(tzinfo=None), statuses))
    return history


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True, timeout=30
    ).stdout


@dataclass(frozen=True)
class OnAsync:
    """A route's time on `async`: since when without a break (None: the file does not say
    `async`), and what sends it back to Flask all the same (a pin, a flip to another
    status, an automatic rollback still in force), if anything."""

    since: datetime | None
    blocking: str | None


def time_on_async(
    manifest: Manifest,
    *,
    decisions: list[dict[str, Any]],
    rollbacks: list[dict[str, Any]],
    overrides: list[dict[str, Any]],
    since: dict[str, datetime | None] | None = None,
) -> dict[str, OnAsync]:
    """Every route's run of `async` (the evidence `retire` and `routes` judge on); `since`:
    `async_since_from_file(manifest)`, when the caller has it already."""
    since = dict(async_since_from_file(manifest) if since is None else since)
    for route_id, at in list(since.items()):
        if at is None:
            continue
        off = [
            naive(row["created_at"])
            for row in decisions
            if row["route_id"] == route_id and row.get("status") not in (None, "async")
        ] + [naive(row["created_at"]) for row in rollbacks if row["route_id"] == route_id]
        last_off = max(off, default=None)
        if last_off is not None and last_off > at:
            back = [
                naive(row["created_at"])
                for row in decisions
                if row["route_id"] == route_id
                and row.get("status") == "async"
                and naive(row["created_at"]) > last_off
            ]
            since[route_id] = min(back, default=last_off)
    blocking = {
        row["route_id"]: f"{row['kind']} to {row['status']}"
        for row in overrides
        if row["status"] != "async"
    }
    blocking.update(
        {row["route_id"]: "rolled back" for row in rollbacks if row.get("cleared_at") is None}
    )
    return {route_id: OnAsync(at, blocking.get(route_id)) for route_id, at in since.items()}


def retirement(
    manifest: Manifest,
    *,
    min_age: timedelta,
    decisions: list[dict[str, Any]],
    rollbacks: list[dict[str, Any]],
    overrides: list[dict[str, Any]],
    now: datetime | None = None,
) -> list[FileVerdict]:
    """Every legacy file's verdict. `decisions`, `rollbacks` (all, cleared or not) and the
    live `overrides` come from the database."""
    now = now or _now()
    on_async = time_on_async(
        manifest, decisions=decisions, rollbacks=rollbacks, overrides=overrides
    )
    since = {route_id: state.since for route_id, state in on_async.items()}
    blocking = {route_id: state.blocking for route_id, state in on_async.items() if state.blocking}
    by_file: dict[str, list[str]] = {}
    for entry in manifest.entries.values():
        if entry.legacy_file:
            by_file.setdefault(entry.legacy_file, []).append(entry.id)
    verdicts = []
    for legacy_file, route_ids in sorted(by_file.items()):
        reasons = []
        for route_id in route_ids:
            status = manifest.entries[route_id].status
            if status != "async":
                reasons.append(f"{route_id} is on {status}")
            elif route_id in blocking:
                reasons.append(f"{route_id}: {blocking[route_id]}")
            elif (at := since[route_id]) is not None and now - at < min_age:
                reasons.append(f"{route_id} on async for {age(now - at)}, needs {age(min_age)}")
        starts = [at for route_id in route_ids if (at := since[route_id]) is not None]
        latest = max(starts) if len(starts) == len(route_ids) else None
        if reasons:
            more = f" (+{len(reasons) - 3} more)" if len(reasons) > 3 else ""
            reason = "; ".join(reasons[:3]) + more
        else:
            reason = f"every route on async since {latest:%Y-%m-%d %H:%M} without a rollback"
        verdicts.append(
            FileVerdict(legacy_file, route_ids, not reasons, reason, async_since=latest)
        )
    _add_dependants([v for v in verdicts if v.ready])
    return verdicts


def naive(value: Any) -> datetime:
    """A database or ISO timestamp as naive UTC."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.rstrip("Z"))
    return value.replace(tzinfo=None) if value.tzinfo else value


def age(delta: timedelta) -> str:
    if delta >= timedelta(days=1):
        return f"{delta.days} days"
    return f"{int(delta.total_seconds() // 3600)} hours"


# -- what goes with a ready file -------------------------------------------------------------


def _module_of(path: Path) -> str:
    return path.relative_to(ROOT).with_suffix("").as_posix().replace("/", ".")


def _sources() -> dict[str, Path]:
    found = {}
    for package in SOURCE_PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            found[_module_of(path)] = path
    return found


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def _add_dependants(ready: list[FileVerdict]) -> None:
    if not ready:
        return
    sources = _sources()
    imports = {module: _imports(path) for module, path in sources.items()}
    texts = {module: path.read_text(encoding="utf-8") for module, path in sources.items()}
    going = {_module_of(ROOT / verdict.legacy_file) for verdict in ready}
    # A helper goes when everything importing it goes (the routes package's list of
    # blueprints excepted: its lines for the ready files go with them).
    registry = "legacy_flask.routes"
    changed = True
    while changed:
        changed = False
        for module in sources:
            if module in going or not module.startswith("legacy_flask.") or module == registry:
                continue
            users = {m for m, names in imports.items() if module in names and m != module}
            if users and users <= going | {registry}:
                going.add(module)
                changed = True
    for verdict in ready:
        module = _module_of(ROOT / verdict.legacy_file)
        tree = ast.parse(texts[module])
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Assign)
                and isinstance(node.value, ast.Call)
                and getattr(node.value.func, "id", None) == "Blueprint"
                and node.value.args
                and isinstance(node.value.args[0], ast.Constant)
            ):
                target = node.targets[0].id if isinstance(node.targets[0], ast.Name) else "?"
                verdict.blueprints.append(
                    f"{node.value.args[0].value!s} ({target}; its line in legacy_flask/routes/"
                    "__init__.py)"
                )
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and node.value.endswith(".html")
            ):
                name = node.value
                elsewhere = [m for m, text in texts.items() if m not in going and name in text]
                if not elsewhere and name not in verdict.templates:
                    verdict.templates.append(name)
        verdict.helpers = sorted(
            sources[m].relative_to(ROOT).as_posix()
            for m in going
            if m in sources and m != module and module in _importers(m, imports)
        )


def _importers(module: str, imports: dict[str, set[str]]) -> set[str]:
    return {m for m, names in imports.items() if module in names}


async def database_evidence(db: Any) -> dict[str, list[dict[str, Any]]]:
    """Every decision and rollback ever recorded, and the overrides in force."""
    import sqlalchemy as sa

    from shared.database.schema import gateway_decisions, gateway_overrides, gateway_rollbacks

    return {
        "decisions": await db.fetch_all(sa.select(gateway_decisions)),
        "rollbacks": await db.fetch_all(sa.select(gateway_rollbacks)),
        "overrides": await db.fetch_all(sa.select(gateway_overrides)),
    }
