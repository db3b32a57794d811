"""`python -m gateway lint`: the manifest checked against both halves."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from async_api.app import async_routes
from gateway.manifest import Manifest, ManifestError, load_manifest
from shared.runtime import attached_bridge
from shared.settings import Settings

if TYPE_CHECKING:  # a gateway with the legacy half retired never imports Flask
    from flask import Flask

ROOT = Path(__file__).resolve().parent.parent
_CONVERTER = re.compile(r"<(?:([a-z]+):)?([a-z_]+)>")


def fastapi_path(flask_rule: str) -> str:
    """`/api/news/<int:news_id>` -> `/api/news/{news_id:int}`; `<key>` -> `{key}`."""

    def convert(match: re.Match[str]) -> str:
        converter, name = match.groups()
        if converter in (None, "string"):
            return "{" + name + "}"
        return "{" + f"{name}:{converter}" + "}"

    return _CONVERTER.sub(convert, flask_rule)


def flask_routes(settings: Settings) -> dict[str, tuple[str, str, str]]:
    """Route id -> (method, rule, source file) for every view of the legacy app."""
    from legacy_flask.app import create_app as create_legacy_app

    return flask_routes_of(create_legacy_app(settings=settings, bridge=attached_bridge(settings)))


def lint(settings: Settings, manifest_path: str | None = None) -> list[str]:
    """Every problem found; an empty list means the manifest may be used."""
    path = manifest_path or settings.migration_manifest
    try:
        manifest = load_manifest(path)
    except ManifestError as exc:
        return exc.problems
    return manifest_problems(manifest, flask_routes(settings), async_routes())


def flask_routes_of(app: Flask) -> dict[str, tuple[str, str, str]]:
    routes = {}
    for rule in app.url_map.iter_rules():
        methods = sorted(set(rule.methods or ()) - {"HEAD", "OPTIONS"})
        view = app.view_functions[rule.endpoint]
        routes[rule.endpoint] = (methods[0], rule.rule, view.__module__.replace(".", "/") + ".py")
    return routes


def manifest_problems(
    manifest: Manifest,
    legacy: dict[str, tuple[str, str, str]],
    modern: dict[str, tuple[str, str]],
) -> list[str]:
    """What is wrong with `manifest` given both halves' routes (lint and live reload)."""
    problems = []
    for route_id, (method, rule, source) in sorted(legacy.items()):
        entry = manifest.entries.get(route_id)
        if entry is None:
            problems.append(f"{route_id}: Flask route {method} {rule} is missing from the manifest")
            continue
        if (entry.method, entry.path) != (method, rule):
            problems.append(
                f"{route_id}: manifest says {entry.method} {entry.path}, Flask has {method} {rule}"
            )
        if entry.legacy_file != source:
            problems.append(
                f"{route_id}: legacy_file is {entry.legacy_file}, the view is in {source}"
            )
    for route_id, entry in sorted(manifest.entries.items()):
        if entry.legacy_file and route_id not in legacy:
            problems.append(f"{route_id}: listed with legacy_file but Flask has no such route")
        if entry.legacy_file and not (ROOT / entry.legacy_file).is_file():
            problems.append(f"{route_id}: legacy_file {entry.legacy_file} does not exist")
        if entry.status == "legacy":
            continue
        implemented = modern.get(route_id)
        if implemented is None:
            problems.append(f"{route_id}: status {entry.status} but FastAPI has no such route")
        elif implemented != (entry.method, fastapi_path(entry.path)):
            problems.append(
                f"{route_id}: FastAPI serves {implemented[0]} {implemented[1]}, "
                f"the manifest says {entry.method} {entry.path}"
            )
    return problems
