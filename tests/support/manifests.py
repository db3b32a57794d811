"""The project's manifest with a few entries changed, for gateway tests."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from gateway.manifest import Manifest, load_manifest

ROOT = Path(__file__).resolve().parents[2]


def manifest_with(changes: dict[str, dict[str, Any]]) -> Manifest:
    manifest = load_manifest(ROOT / "migration_status.yaml")
    entries = dict(manifest.entries)
    for route_id, fields in changes.items():
        entries[route_id] = replace(entries[route_id], **fields)
    return replace(manifest, entries=entries)
