"""`python -m gateway flip`: change one route's status in the YAML, keeping its comments,
order and formatting (ruamel round-trip), after checking the result is a valid manifest."""

from __future__ import annotations

import io
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from gateway.manifest import STATUSES, Manifest, ManifestError, parse_manifest


class FlipError(ValueError):
    pass


@dataclass(frozen=True)
class PlannedFlip:
    """A checked change to one entry, not yet written: what the database records with it."""

    path: Path
    text: str
    previous: str
    base_version: str  # the entry's fingerprint before the flip
    entry_version: str  # and after

    def write(self) -> None:
        _replace(self.path, self.text)


def plan_flip(
    path: str | Path,
    route_id: str,
    status: str,
    *,
    percent: int | None = None,
    canary: dict[str, Any] | None = None,
) -> PlannedFlip:
    """The file with the route's new status (and percent, or progressive canary rules)."""
    if status not in STATUSES:
        raise FlipError(f"unknown status {status!r} (one of {', '.join(STATUSES)})")
    if canary is not None and (status != "canary" or percent is not None):
        raise FlipError("--steps starts a progressive canary: status canary, without --percent")
    if status == "canary" and percent is None and canary is None:
        raise FlipError("canary needs --percent N (1..100), or --steps for a progressive one")
    if percent is not None and status != "canary":
        raise FlipError("--percent only applies to canary")
    path = Path(path)
    yaml = _round_trip()
    text = path.read_text(encoding="utf-8")
    document = yaml.load(text)
    routes = document.get("routes") if document else None
    if not routes or route_id not in routes:
        raise FlipError(f"{route_id} is not in {path}")
    before = _parsed(text, path).entries[route_id].fingerprint
    entry = routes[route_id]
    previous = str(entry.get("status"))
    entry["status"] = status
    after_status = list(entry).index("status") + 1
    if "percent" in entry and (status != "canary" or canary is not None):
        del entry["percent"]
    if "canary" in entry and canary is None:
        del entry["canary"]
    if canary is not None:
        rules = CommentedMap(canary)
        rules["steps"] = CommentedSeq(canary["steps"])
        rules["steps"].fa.set_flow_style()  # steps: [5, 25, 50]
        entry.insert(after_status, "canary", rules)
    elif status == "canary":
        if "percent" in entry:
            entry["percent"] = percent
        else:
            entry.insert(after_status, "percent", percent)
    buffer = io.StringIO()
    yaml.dump(document, buffer)
    text = buffer.getvalue()
    after = _parsed(text, path).entries[route_id].fingerprint
    return PlannedFlip(path, text, previous, base_version=before, entry_version=after)


def flip_route(
    path: str | Path,
    route_id: str,
    status: str,
    *,
    percent: int | None = None,
    canary: dict[str, Any] | None = None,
) -> str:
    """Write the new status; returns the previous one."""
    planned = plan_flip(path, route_id, status, percent=percent, canary=canary)
    planned.write()
    return planned.previous


def _parsed(text: str, path: Path) -> Manifest:
    try:
        return parse_manifest(text, path=str(path))
    except ManifestError as exc:
        raise FlipError(str(exc)) from None


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
