"""`python -m gateway flip`: change one route's status in the YAML, keeping its comments,
order and formatting (ruamel round-trip), after checking the result is a valid manifest."""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

from ruamel.yaml import YAML

from gateway.manifest import STATUSES, ManifestError, parse_manifest


class FlipError(ValueError):
    pass


def flip_route(path: str | Path, route_id: str, status: str, *, percent: int | None = None) -> str:
    """Write the new status; returns the previous one."""
    if status not in STATUSES:
        raise FlipError(f"unknown status {status!r} (one of {', '.join(STATUSES)})")
    if status == "canary" and percent is None:
        raise FlipError("canary needs --percent N (0..100)")
    if percent is not None and status != "canary":
        raise FlipError("--percent only applies to canary")
    path = Path(path)
    yaml = _round_trip()
    document = yaml.load(path.read_text(encoding="utf-8"))
    routes = document.get("routes") if document else None
    if not routes or route_id not in routes:
        raise FlipError(f"{route_id} is not in {path}")
    entry = routes[route_id]
    previous = str(entry.get("status"))
    entry["status"] = status
    if status == "canary":
        if "percent" in entry:
            entry["percent"] = percent
        else:
            entry.insert(list(entry).index("status") + 1, "percent", percent)
    elif "percent" in entry:
        del entry["percent"]
    buffer = io.StringIO()
    yaml.dump(document, buffer)
    text = buffer.getvalue()
    try:
        parse_manifest(text, path=str(path))
    except ManifestError as exc:
        raise FlipError(str(exc)) from None
    _replace(path, text)
    return previous


def _round_trip() -> YAML:
    yaml = YAML()  # round-trip: comments, key order and quoting survive
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def _replace(path: Path, text: str) -> None:
    # Written whole and renamed into place: a watching gateway never reads half a file.
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".manifest-", suffix=".yaml")
    with os.fdopen(handle, "w", encoding="utf-8") as file:
        file.write(text)
    os.replace(temporary, path)


def add_missing_routes(
    path: str | Path, flask_routes: dict[str, tuple[str, str, str]]
) -> list[str]:
    """Append an entry (status legacy) for every Flask route the manifest lacks; existing
    entries, comments and order are left exactly as they are. Returns the added ids."""
    path = Path(path)
    yaml = _round_trip()
    document = yaml.load(path.read_text(encoding="utf-8"))
    routes = document["routes"]
    added = []
    for route_id, (method, rule, source) in sorted(flask_routes.items()):
        if route_id in routes:
            continue
        routes[route_id] = {
            "method": method,
            "path": rule,
            "legacy_file": source,
            "status": "legacy",
        }
        added.append(route_id)
    if added:
        buffer = io.StringIO()
        yaml.dump(document, buffer)
        text = buffer.getvalue()
        parse_manifest(text, path=str(path))
        _replace(path, text)
    return added
