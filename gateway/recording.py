"""Recorded traffic as parity cases: what the frontend really sends, replayable in CI.

A route whose manifest entry has `record: {sample_rate: R}` (or the whole gateway, through
`defaults: {record: …}`) keeps a sample of its requests as cases: method, path, query and
body (secrets redacted by the shadow records' rules, gateway/redact.py), the identity the
request carried (never a token: whether the admin token or webhook secret was right, the
Telegram user's id), and the answer it got. Every shadow mismatch is kept the same way,
unsampled, so that a fix of the async half can be proven against exactly that request.

Nothing here runs on the request path: the dispatcher hands over what it already buffered
after the client has its answer, cases wait in a bounded list, and a background task writes
them to `gateway_recordings`, one row per route and request shape (the same shape recorded
twice is one case) and at most `MAX_CASES_PER_ROUTE` rows per route.

Writes are not recorded with the database state they met: a copy of production rows would
carry users' data into the repository, and would differ between the two halves' runs
anyway. A recorded write is replayed, in recording order, against the parity runner's
freshly seeded scratch database (identical for both halves); a write that named a row the
demo data lacks answers the same 404 on both halves, which is still a comparison.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import io
import json
import logging
import random
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import sqlalchemy as sa
import yaml
from starlette.types import Message, Receive, Scope

from gateway.manifest import RouteEntry
from gateway.redact import Redactor
from shared.database.engine import Database
from shared.database.rows import iso, utcnow
from shared.database.upsert import insert
from shared.identity import INIT_DATA_HEADER
from shared.telegram_webhook import WEBHOOK_SECRET_HEADER

if TYPE_CHECKING:
    from gateway.shadow import Captured
    from shared.settings import Settings

log = logging.getLogger("gateway.recording")

MAX_CASES_PER_ROUTE = 200  # rows kept per route; more shapes than this are not recorded
MAX_PENDING = 500  # cases waiting for the database; beyond this they are dropped, counted
MAX_BODY_CHARS = 16_000  # of a request or response body kept with a case
RECORDED_DIR = Path(__file__).resolve().parent.parent / "tests" / "parity" / "recorded"
SAMPLE, MISMATCH = "sample", "mismatch"

# The shared schema's naming lives in shared/database/schema.py; this table is the
# gateway's own (created by migration 0006) and only this module reads or writes it.
_metadata = sa.MetaData()
gateway_recordings = sa.Table(
    "gateway_recordings",
    _metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("route_id", sa.String(100), nullable=False),
    sa.Column("shape", sa.String(40), nullable=False),  # route + request shape (+ diff)
    sa.Column("source", sa.String(10), nullable=False),  # sample | mismatch
    sa.Column("method", sa.String(10), nullable=False),
    sa.Column("path", sa.String(1000), nullable=False),
    sa.Column("query", sa.String(2000), nullable=False),
    sa.Column("content_type", sa.String(200)),
    sa.Column("request_body", sa.Text),
    sa.Column("identity", sa.JSON, nullable=False),
    sa.Column("responses", sa.JSON, nullable=False),  # side -> {status, content_type, body}
    sa.Column("differences", sa.JSON),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.UniqueConstraint("route_id", "shape", name="uq_gateway_recordings_route_shape"),
)

_AUTHORIZATION = b"authorization"
_WEBHOOK_SECRET = WEBHOOK_SECRET_HEADER.lower().encode()
_INIT_DATA = INIT_DATA_HEADER.lower().encode()
_CONTENT_TYPE = b"content-type"


def identity_of(scope: Scope, settings: Settings) -> dict[str, Any]:
    """Who the request spoke as, without a secret: the replay sends the parity run's own
    admin token or webhook secret where the recorded one was right, a wrong one where it
    was wrong, and nothing where there was none. `user_id` stays in the query or body."""
    identity: dict[str, Any] = {}
    for name, value in scope.get("headers", ()):
        if name == _AUTHORIZATION:
            scheme, _, token = value.decode("latin-1").partition(" ")
            right = settings.admin_token and scheme.lower() == "bearer"
            identity["admin"] = "right" if right and _same(token, settings.admin_token) else "wrong"
        elif name == _WEBHOOK_SECRET:
            secret = settings.telegram_webhook_secret
            identity["webhook"] = "right" if _same(value.decode("latin-1"), secret) else "wrong"
        elif name == _INIT_DATA:
            for field, raw in parse_qsl(value.decode("latin-1")):
                if field == "user":
                    try:
                        identity["telegram_user_id"] = json.loads(raw).get("id")
                    except (ValueError, AttributeError):
                        identity["telegram_user_id"] = None
    return identity


def _same(given: str, expected: str | None) -> bool:
    return bool(expected) and hmac.compare_digest(given.strip().encode(), str(expected).encode())


def _content_type(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == _CONTENT_TYPE:
            return value.decode("latin-1")[:200]
    return None


def _skeleton(text: str | None) -> Any:
    """A body's shape: keys and value types, not values."""
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return "(not json)"

    def shape(item: Any) -> Any:
        if isinstance(item, dict):
            return {key: shape(inner) for key, inner in sorted(item.items())}
        if isinstance(item, list):
            return [shape(item[0])] if item else []
        return type(item).__name__

    return shape(value)


def shape_key(
    *,
    route_id: str,
    method: str,
    query: str,
    body: str | None,
    identity: dict[str, Any],
    status: int | None,
    differences: Iterable[str] = (),
) -> str:
    """What makes two requests the same case: route, method, the query's parameter names,
    the body's keys and types, which identity was shown and how it fared, the status the
    answer had (`/news/3` found and `/news/999` not found are two cases) and, for a
    mismatch, the fields that differed."""
    parts = {
        "route": route_id,
        "method": method,
        "query": sorted({name for name, _ in parse_qsl(query, keep_blank_values=True)}),
        "body": _skeleton(body),
        "identity": sorted(
            (k, "id" if k == "telegram_user_id" else v) for k, v in identity.items()
        ),
        "status": status,
        "differences": sorted(set(differences)),
    }
    return hashlib.sha1(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


def recorded_receive(body: bytes, receive: Receive) -> Receive:
    """The buffered body once, then the client's own channel (so a disconnect still ends a
    stream)."""
    sent = False

    async def next_message() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return next_message


class Recorder:
    """One gateway process's recorder: sampling, building cases, the pending list."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.redactor = Redactor(settings.redact_fields.split(","))
        self.pending: list[dict[str, Any]] = []
        self.dropped = 0  # cases lost to a full pending list
        self._task: asyncio.Task[None] | None = None

    @staticmethod
    def wants(entry: RouteEntry) -> bool:
        rate = entry.record.sample_rate
        return rate >= 1 or (rate > 0 and random.random() < rate)

    def sampled(
        self, entry: RouteEntry, scope: Scope, body: bytes, answer: Captured, side: str
    ) -> None:
        """A sampled request and the answer it got (from `side`)."""
        self._keep(entry, scope, body, SAMPLE, {side: self._response(answer)}, None)

    def mismatch(
        self,
        entry: RouteEntry,
        scope: Scope,
        body: bytes,
        legacy: Captured,
        modern: Captured | None,
        differences: list[dict[str, Any]],
    ) -> None:
        """A shadow comparison that differed: always kept (one per request shape and set
        of differing fields)."""
        responses = {"legacy": self._response(legacy)}
        if modern is not None:
            responses["async"] = self._response(modern)
        self._keep(entry, scope, body, MISMATCH, responses, differences)

    def _response(self, answer: Captured) -> dict[str, Any]:
        raw = b"".join(answer.chunks) if answer.complete else b""
        kept = (
            self.redactor.body(raw, limit=MAX_BODY_CHARS) if "json" in answer.content_type else None
        )
        return {"status": answer.status, "content_type": answer.content_type, "body": kept}

    def _keep(
        self,
        entry: RouteEntry,
        scope: Scope,
        body: bytes,
        source: str,
        responses: dict[str, dict[str, Any]],
        differences: list[dict[str, Any]] | None,
    ) -> None:
        if len(self.pending) >= MAX_PENDING:
            self.dropped += 1
            return
        try:
            query = self.redactor.query(scope.get("query_string", b"").decode("latin-1"))[:2000]
            request_body = self.redactor.body(body, limit=MAX_BODY_CHARS)
            identity = identity_of(scope, self.settings)
            status = next(iter(responses.values()))["status"]
            changed = [d["path"] for d in differences or ()]
            shape = shape_key(
                route_id=entry.id,
                method=scope["method"],
                query=query,
                body=request_body,
                identity=identity,
                status=status,
                differences=changed,
            )
        except Exception:  # a strange request must never cost the gateway anything
            log.exception("could not record a request to %s", entry.id)
            return
        self.pending.append(
            {
                "route_id": entry.id,
                "shape": shape,
                "source": source,
                "method": scope["method"],
                "path": scope["path"],
                "query": query,
                "content_type": _content_type(scope),
                "request_body": request_body,
                "identity": identity,
                "responses": responses,
                "differences": differences,
                "created_at": utcnow(),
            }
        )

    # -- the background writer -------------------------------------------------------------
    def start(self, db: Database, *, interval: float) -> None:
        self._task = asyncio.get_running_loop().create_task(
            self._run(db, interval), name="gateway-recorder"
        )

    async def stop(self, db: Database) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        try:
            await self.flush(db)
        except Exception:
            log.exception("final write of recorded cases failed")

    async def _run(self, db: Database, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await self.flush(db)
            except Exception as exc:  # the database is down: keep them, try again
                log.warning("could not write recorded cases yet: %s", exc)

    async def flush(self, db: Database) -> None:
        rows, self.pending = self.pending, []
        try:
            await save_recordings(db, rows)
        except Exception:
            self.pending[:0] = rows[: MAX_PENDING - len(self.pending)]
            raise


# -- the table -------------------------------------------------------------------------------


async def save_recordings(db: Database, rows: list[dict[str, Any]]) -> int:
    """Insert new shapes, skipping shapes already kept and routes at their limit; returns
    how many were kept."""
    if not rows:
        return 0
    routes = sorted({row["route_id"] for row in rows})
    counted = await db.fetch_all(
        sa.select(gateway_recordings.c.route_id, sa.func.count().label("n"))
        .where(gateway_recordings.c.route_id.in_(routes))
        .group_by(gateway_recordings.c.route_id)
    )
    room = {route: MAX_CASES_PER_ROUTE for route in routes}
    for row in counted:
        room[row["route_id"]] -= int(row["n"])
    kept = 0
    async with db.transaction() as tx:
        for row in rows:
            if room[row["route_id"]] <= 0:
                continue
            result = await tx.execute(
                insert(db, gateway_recordings)
                .values(**row)
                .on_conflict_do_nothing(index_elements=["route_id", "shape"])
            )
            if result.rowcount:
                room[row["route_id"]] -= 1
                kept += 1
    return kept


async def recordings(
    db: Database, *, route_ids: list[str] | None = None, source: str | None = None
) -> list[dict[str, Any]]:
    query = sa.select(gateway_recordings)
    if route_ids:
        query = query.where(gateway_recordings.c.route_id.in_(route_ids))
    if source:
        query = query.where(gateway_recordings.c.source == source)
    rows = await db.fetch_all(
        query.order_by(gateway_recordings.c.created_at, gateway_recordings.c.id)
    )
    return [{**row, "created_at": iso(row["created_at"])} for row in rows]


async def recording_counts(db: Database) -> dict[str, dict[str, int]]:
    """route -> source -> cases kept."""
    rows = await db.fetch_all(
        sa.select(
            gateway_recordings.c.route_id,
            gateway_recordings.c.source,
            sa.func.count().label("n"),
        ).group_by(gateway_recordings.c.route_id, gateway_recordings.c.source)
    )
    counts: dict[str, dict[str, int]] = {}
    for row in rows:
        counts.setdefault(row["route_id"], {})[row["source"]] = int(row["n"])
    return counts


async def clear_recordings(db: Database, *, route_ids: list[str] | None = None) -> int:
    statement = gateway_recordings.delete()
    if route_ids:
        statement = statement.where(gateway_recordings.c.route_id.in_(route_ids))
    async with db.transaction() as tx:
        result = await tx.execute(statement)
        return int(result.rowcount or 0)


# -- the committed format --------------------------------------------------------------------

EXPORT_HEADER = """\
# Recorded parity cases (`python -m gateway record export`): requests the gateway kept from
# live traffic and shadow mismatches, secrets redacted. The corpus format (docs/migration.md)
# plus `identity` (replayed with the parity run's own credentials) and `recorded` (where
# the case came from and what it was answered). One case per route and request shape.
# Replay: python -m gateway parity --recorded
"""


def case_of(row: dict[str, Any]) -> dict[str, Any]:
    """A stored row as a corpus case."""
    query: dict[str, Any] = {}
    for name, value in parse_qsl(row["query"], keep_blank_values=True):
        query.setdefault(name, []).append(value)
    case: dict[str, Any] = {
        "name": _case_name(row),
        "method": row["method"],
        "path": row["path"],
    }
    if query:
        case["query"] = {k: v[0] if len(v) == 1 else v for k, v in query.items()}
    body = row["request_body"]
    if body is not None:
        try:
            case["json"] = json.loads(body)
        except ValueError:
            case["body"] = body
        if row.get("content_type"):
            case["headers"] = {"Content-Type": row["content_type"]}
    if row["identity"]:
        case["identity"] = dict(row["identity"])
    recorded: dict[str, Any] = {
        "source": row["source"],
        "shape": row["shape"],
        "at": row["created_at"] if isinstance(row["created_at"], str) else iso(row["created_at"]),
        "answers": {
            side: {"status": answer["status"]} for side, answer in row["responses"].items()
        },
    }
    if row.get("differences"):
        recorded["differences"] = row["differences"]
    case["recorded"] = recorded
    return case


def _case_name(row: dict[str, Any]) -> str:
    names = sorted({name for name, _ in parse_qsl(row["query"], keep_blank_values=True)})
    query = "?" + "&".join(names) if names else ""
    statuses = "/".join(str(answer["status"]) for answer in row["responses"].values())
    request = f"{row['method']} {row['path']}{query}"
    return f"{row['source']} {request} -> {statuses} [{row['shape'][:6]}]"


def export_cases(rows: list[dict[str, Any]], path: Path) -> tuple[int, int]:
    """Merge `rows` into the YAML file at `path` (created if missing): a shape already in
    the file is not added again. Returns (added, already there)."""
    existing: dict[str, list[dict[str, Any]]] = {}
    if path.is_file():
        existing = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    known = {
        (route_id, case.get("recorded", {}).get("shape"))
        for route_id, cases in existing.items()
        for case in cases
    }
    added = duplicate = 0
    for row in rows:
        if (row["route_id"], row["shape"]) in known:
            duplicate += 1
            continue
        known.add((row["route_id"], row["shape"]))
        existing.setdefault(row["route_id"], []).append(case_of(row))
        added += 1
    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(existing, sort_keys=False, allow_unicode=True, width=100)
    path.write_text(EXPORT_HEADER + text, encoding="utf-8")
    return added, duplicate


def recorded_files(paths: Iterable[str | Path]) -> list[Path]:
    """Files named, and every `*.yaml` in directories named."""
    found: list[Path] = []
    for given in paths:
        path = Path(given)
        found.extend(sorted(path.glob("*.yaml")) if path.is_dir() else [path])
    return found


def recorded_at(case: dict[str, Any]) -> datetime | None:
    at = case.get("recorded", {}).get("at")
    try:
        return datetime.fromisoformat(str(at).rstrip("Z")) if at else None
    except ValueError:
        return None


# -- switching recording on and off in the manifest ------------------------------------------


def set_recording(path: str | Path, route_ids: list[str], sample_rate: float | None) -> str:
    """Write `record: {sample_rate: R}` on the routes (every route, through `defaults`, when
    `route_ids` is empty), or remove it with `sample_rate` None; comments and order kept.
    Returns the checked file's new version."""
    from ruamel.yaml.comments import CommentedMap

    from gateway.flip import FlipError, _replace, _round_trip
    from gateway.manifest import ManifestError, parse_manifest

    path = Path(path)
    yaml_rt = _round_trip()
    document = yaml_rt.load(path.read_text(encoding="utf-8"))
    routes = document["routes"]
    if route_ids:
        targets = []
        for route_id in route_ids:
            if route_id not in routes:
                raise FlipError(f"{route_id} is not in {path}")
            targets.append(routes[route_id])
    else:
        if "defaults" not in document:
            document.insert(list(document).index("routes"), "defaults", CommentedMap())
        targets = [document["defaults"]]
    for target in targets:
        if sample_rate is None:
            target.pop("record", None)
        else:
            target["record"] = CommentedMap(sample_rate=sample_rate)
    if not route_ids and sample_rate is None and not document["defaults"]:
        del document["defaults"]
    buffer = io.StringIO()
    yaml_rt.dump(document, buffer)
    text = buffer.getvalue()
    try:
        manifest = parse_manifest(text, path=str(path))
    except ManifestError as exc:
        raise FlipError(str(exc)) from None
    _replace(path, text)
    return manifest.version
