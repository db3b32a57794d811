"""Operator decisions held in the database, and which one is in force on this instance.

The manifest file is the reviewed desired state; each instance has its own copy. An
operator decision made with the CLI reaches every instance sharing the database:

- a **pin** (`python -m gateway pin ROUTE legacy|async --reason …`) wins over everything
  until `unpin` removes it;
- a **flip** (`python -m gateway flip ROUTE STATUS`, which also edits the file on the host
  it is typed on) wins over an instance's file entry unless that entry is newer: edited
  after the flip (this instance saw the edit happen while running, or its file was written
  after the flip and its entry is neither the one the flip was made over nor the one it
  wrote);
- the file entry otherwise.

An automatic rollback (gateway/rollback.py) or a progressive canary's verdict
(gateway/canary.py) then applies on top of whichever of these is in force.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from gateway.manifest import RouteEntry, canary_problems, canary_rules

PIN, FLIP = "pin", "flip"
PIN_STATUSES = ("legacy", "async")


@dataclass(frozen=True)
class Override:
    route_id: str
    kind: str  # pin | flip
    status: str
    percent: int | None
    canary: dict[str, Any] | None
    base_version: str | None  # the file entry a flip was made over
    entry_version: str | None  # the file entry a flip wrote
    actor: str
    reason: str
    created_at: datetime

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Override:
        return cls(**{name: row[name] for name in cls.__dataclass_fields__})

    @property
    def version(self) -> str:
        """Names the decision (not any host's file): a canary run started by a flip is the
        same run on every instance."""
        text = json.dumps(
            [self.kind, self.status, self.percent, self.canary, self.created_at.isoformat()],
            sort_keys=True,
        )
        return "o" + hashlib.sha256(text.encode()).hexdigest()[:11]

    def describe(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "status": self.status,
            "percent": self.percent,
            "canary": self.canary,
            "by": self.actor,
            "reason": self.reason,
            "at": self.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }


def by_route(rows: list[dict[str, Any]]) -> dict[str, dict[str, Override]]:
    overrides: dict[str, dict[str, Override]] = {}
    for row in rows:
        override = Override.from_row(row)
        overrides.setdefault(override.route_id, {})[override.kind] = override
    return overrides


def flip_applies(
    flip: Override,
    entry: RouteEntry,
    *,
    edited_at: datetime | None,
    file_written_at: datetime | None,
) -> bool:
    """Whether a flip is newer than this instance's file entry (see the module's text)."""
    if entry.fingerprint == flip.entry_version:
        return True  # the file already says what the flip says
    if edited_at is not None and edited_at > flip.created_at:
        return False  # an engineer edited the entry here after the flip
    if entry.fingerprint == flip.base_version:
        return True  # the entry the flip was made over: this copy just lacks the flip
    return file_written_at is None or file_written_at < flip.created_at


def applied(entry: RouteEntry, override: Override) -> RouteEntry | None:
    """The entry as the override has it; None where it cannot apply to this copy (a status
    that needs a legacy half the entry lacks, or canary rules this version cannot read)."""
    if override.status != "async" and not entry.legacy_file:
        return None
    canary = None
    if override.canary is not None:
        if canary_problems(override.canary):
            return None
        canary = canary_rules(override.canary)
    percent = canary.steps[0] if canary else override.percent or 0
    return replace(
        entry,
        status=override.status,
        percent=percent if override.status == "canary" else 0,
        canary=canary if override.status == "canary" else None,
        fingerprint=override.version,
    )


def decided_entry(
    entry: RouteEntry,
    overrides: dict[str, Override],
    *,
    edited_at: datetime | None,
    file_written_at: datetime | None,
) -> tuple[RouteEntry, Override | None]:
    """Pin, else a flip newer than the file entry, else the file entry; with the override
    that is in force, if any."""
    pin = overrides.get(PIN)
    if pin is not None and (pinned := applied(entry, pin)) is not None:
        return pinned, pin
    flip = overrides.get(FLIP)
    if flip is not None and flip_applies(
        flip, entry, edited_at=edited_at, file_written_at=file_written_at
    ):
        flipped = applied(entry, flip)
        if flipped is not None:
            return flipped, flip
    return entry, None
