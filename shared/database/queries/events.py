"""Events calendar queries, and its admin writes (each audit-logged in its own transaction)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from shared.categories import CATEGORIES
from shared.database.engine import Database, Transaction
from shared.database.queries.audit import record_audit
from shared.database.rows import fraction, iso, utcnow
from shared.database.schema import events
from shared.errors import invalid

EVENT_COLUMNS = (
    events.c.id,
    events.c.title,
    events.c.description,
    events.c.category,
    events.c.location,
    events.c.starts_at,
    events.c.ends_at,
    events.c.importance,
)
ORDER = (events.c.starts_at, events.c.id)


def event_item(row: dict[str, Any]) -> dict[str, Any]:
    """The one JSON shape of an event, in every answer and in the stream."""
    return {
        "id": row["id"],
        "title": row["title"],
        "description": row["description"],
        "category": row["category"],
        "location": row["location"],
        "starts_at": iso(row["starts_at"]),
        "ends_at": iso(row["ends_at"]),
        "importance": fraction(row["importance"]),
    }


# Every event, a page at a time (`GET /api/events/` without filters): built once.
_ALL_COUNT = sa.select(sa.func.count()).select_from(events)
_ALL_PAGE = (
    sa.select(*EVENT_COLUMNS)
    .order_by(*ORDER)
    .limit(sa.bindparam("limit", type_=sa.BigInteger))
    .offset(sa.bindparam("offset", type_=sa.BigInteger))
)


async def _every_event(
    db: Database, *, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    window = {"limit": limit, "offset": offset}
    total, found = await asyncio.gather(db.scalar(_ALL_COUNT, {}), db.fetch_all(_ALL_PAGE, window))
    return [event_item(row) for row in found], int(total or 0)


async def _page(
    db: Database, condition: sa.ColumnElement[bool], *, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """One page of the events matching `condition`, by start time, and how many match."""
    count = sa.select(sa.func.count()).select_from(events).where(condition)
    rows = sa.select(*EVENT_COLUMNS).where(condition).order_by(*ORDER).limit(limit).offset(offset)
    total, found = await asyncio.gather(db.scalar(count), db.fetch_all(rows))
    return [event_item(row) for row in found], int(total or 0)


def _starting(start: datetime | None, end: datetime | None) -> sa.ColumnElement[bool]:
    """Events that start in [start, end)."""
    clauses = []
    if start is not None:
        clauses.append(events.c.starts_at >= start)
    if end is not None:
        clauses.append(events.c.starts_at < end)
    return sa.and_(sa.true(), *clauses)


async def list_events(
    db: Database,
    *,
    category: str | None,
    starts_from: datetime | None,
    starts_to: datetime | None,
    importance_min: float | None,
    limit: int,
    offset: int,
) -> tuple[list[dict[str, Any]], int]:
    if (starts_from, starts_to, category, importance_min) == (None, None, None, None):
        return await _every_event(db, limit=limit, offset=offset)
    condition = _starting(starts_from, starts_to)
    if category is not None:
        condition = sa.and_(condition, events.c.category == category)
    if importance_min is not None:
        condition = sa.and_(condition, events.c.importance >= importance_min)
    return await _page(db, condition, limit=limit, offset=offset)


async def event_by_id(db: Database, *, event_id: int) -> dict[str, Any] | None:
    row = await db.fetch_one(sa.select(*EVENT_COLUMNS).where(events.c.id == event_id))
    return event_item(row) if row else None


async def upcoming_events(
    db: Database, *, now: datetime, days: int, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """Events that start from `now` to `days` days later."""
    condition = _starting(now, now + timedelta(days=days))
    return await _page(db, condition, limit=limit, offset=offset)


async def today_events(
    db: Database, *, now: datetime, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """Events that start on `now`'s UTC day, earlier ones included."""
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    condition = _starting(midnight, midnight + timedelta(days=1))
    return await _page(db, condition, limit=limit, offset=offset)


def month_bounds(month: str) -> tuple[datetime, datetime | None]:
    """[first instant of `YYYY-MM`, first instant of the next month); None after 9999-12."""
    first = datetime.strptime(month, "%Y-%m")
    if first.month == 12:
        if first.year == datetime.max.year:
            return first, None
        return first, first.replace(year=first.year + 1, month=1)
    return first, first.replace(month=first.month + 1)


async def calendar_month(db: Database, *, month: str) -> dict[str, list[dict[str, Any]]]:
    """The events starting in `month`, by their UTC start day (days without events left out)."""
    start, end = month_bounds(month)
    day = (
        sa.func.date(events.c.starts_at)
        if db.backend == "sqlite"
        else sa.cast(events.c.starts_at, sa.Date)
    )
    rows = await db.fetch_all(
        sa.select(*EVENT_COLUMNS, day.label("day")).where(_starting(start, end)).order_by(*ORDER)
    )
    days: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        days.setdefault(str(row["day"]), []).append(event_item(row))
    return days


async def search_events(
    db: Database, *, q: str, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """Case-insensitive match of `q` in the title, description or location."""
    needle = q.lower()
    condition = sa.or_(
        *(
            sa.func.lower(column).contains(needle, autoescape=True)
            for column in (events.c.title, events.c.description, events.c.location)
        )
    )
    return await _page(db, condition, limit=limit, offset=offset)


async def upcoming_by_category(db: Database, *, now: datetime) -> list[dict[str, Any]]:
    """Every category with how many of its events start from `now` on."""
    rows = await db.fetch_all(
        sa.select(events.c.category, sa.func.count().label("upcoming"))
        .where(events.c.starts_at >= now)
        .group_by(events.c.category)
    )
    counts = {row["category"]: int(row["upcoming"]) for row in rows}
    return [{"name": name, "upcoming": counts.get(name, 0)} for name in CATEGORIES]


# --- admin writes ---------------------------------------------------------------------


def _json_ready(values: dict[str, Any]) -> dict[str, Any]:
    return {key: iso(v) if isinstance(v, datetime) else v for key, v in values.items()}


def _check_span(starts_at: datetime, ends_at: datetime | None, *, moved_start: bool) -> None:
    """An event may not end before it starts; the error names the field that was sent."""
    if ends_at is None or ends_at >= starts_at:
        return
    if moved_start:
        raise invalid("starts_at", "must not be later than ends_at")
    raise invalid("ends_at", "must not be earlier than starts_at")


async def _audit(tx: Transaction, actor: str, action: str, event_id: int, details: dict) -> None:
    await record_audit(
        tx, actor=actor, action=action, target=f"events:{event_id}", details=_json_ready(details)
    )


async def create_event(db: Database, *, actor: str, fields: dict[str, Any]) -> dict[str, Any]:
    _check_span(fields["starts_at"], fields.get("ends_at"), moved_start=False)
    now = utcnow()
    values = {**fields, "created_at": now, "updated_at": now}
    async with db.transaction() as tx:
        result = await tx.execute(events.insert().values(values).returning(events.c.id))
        event_id = result.scalar_one()
        await _audit(tx, actor, "event.create", event_id, fields)
    return event_item({"id": event_id, **values})


async def update_event(
    db: Database, *, actor: str, event_id: int, changes: dict[str, Any]
) -> dict[str, Any] | None:
    """The event after `changes` (None if there is no such event); nothing sent, nothing written."""
    async with db.transaction() as tx:
        # FOR UPDATE (PostgreSQL; SQLite locks the file on write): the merge sees the last row.
        row = await tx.fetch_one(
            sa.select(*EVENT_COLUMNS).where(events.c.id == event_id).with_for_update()
        )
        if row is None:
            return None
        if not changes:
            return event_item(row)
        merged = {**row, **changes}
        moved_start = "starts_at" in changes and "ends_at" not in changes
        _check_span(merged["starts_at"], merged["ends_at"], moved_start=moved_start)
        await tx.execute(
            events.update().where(events.c.id == event_id).values(**changes, updated_at=utcnow())
        )
        await _audit(tx, actor, "event.update", event_id, changes)
    return event_item(merged)


async def delete_event(db: Database, *, actor: str, event_id: int) -> bool:
    """True when there was an event to delete."""
    async with db.transaction() as tx:
        result = await tx.execute(
            events.delete().where(events.c.id == event_id).returning(events.c.title)
        )
        title = result.scalar_one_or_none()
        if title is None:
            return False
        await _audit(tx, actor, "event.delete", event_id, {"title": title})
    return True


# --- the change feed behind /api/events/stream ---------------------------------------


@dataclass(frozen=True, order=True)
class ChangeCursor:
    """A position in the feed of event rows ordered by (updated_at, id)."""

    updated_at: datetime
    event_id: int


async def changed_events(
    db: Database, *, after: ChangeCursor, limit: int
) -> list[tuple[ChangeCursor, dict[str, Any]]]:
    """Rows created or changed after `after`, oldest change first, with each row's cursor."""
    rows = await db.fetch_all(
        sa.select(*EVENT_COLUMNS, events.c.updated_at)
        .where(
            sa.or_(
                events.c.updated_at > after.updated_at,
                sa.and_(events.c.updated_at == after.updated_at, events.c.id > after.event_id),
            )
        )
        .order_by(events.c.updated_at, events.c.id)
        .limit(limit)
    )
    return [(ChangeCursor(row["updated_at"], row["id"]), event_item(row)) for row in rows]
