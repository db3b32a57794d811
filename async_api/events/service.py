from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from shared import events_stream as sse
from shared.contracts.common import page
from shared.contracts.events import EventListQuery
from shared.database.engine import Database
from shared.database.queries import events as queries
from shared.database.queries.events import ChangeCursor
from shared.database.rows import utcnow
from shared.errors import ApiError, not_found
from shared.settings import Settings


async def list_events(*, db: Database, params: EventListQuery) -> dict[str, Any]:
    items, total = await queries.list_events(
        db,
        category=params.category,
        starts_from=params.starts_from,
        starts_to=params.starts_to,
        importance_min=params.importance_min,
        limit=params.limit,
        offset=params.offset,
    )
    return page(items, total=total, limit=params.limit, offset=params.offset)


async def get_event(*, db: Database, event_id: int) -> dict[str, Any]:
    item = await queries.event_by_id(db, event_id=event_id)
    if item is None:
        raise not_found("event")
    return item


async def upcoming_events(*, db: Database, days: int, limit: int, offset: int) -> dict[str, Any]:
    items, total = await queries.upcoming_events(
        db, now=utcnow(), days=days, limit=limit, offset=offset
    )
    return page(items, total=total, limit=limit, offset=offset)


async def today_events(*, db: Database, limit: int, offset: int) -> dict[str, Any]:
    items, total = await queries.today_events(db, now=utcnow(), limit=limit, offset=offset)
    return page(items, total=total, limit=limit, offset=offset)


async def calendar(*, db: Database, month: str) -> dict[str, Any]:
    return {"month": month, "days": await queries.calendar_month(db, month=month)}


async def search_events(*, db: Database, q: str, limit: int, offset: int) -> dict[str, Any]:
    items, total = await queries.search_events(db, q=q, limit=limit, offset=offset)
    return page(items, total=total, limit=limit, offset=offset)


async def event_categories(*, db: Database) -> dict[str, Any]:
    return {"categories": await queries.upcoming_by_category(db, now=utcnow())}


async def create_event(*, db: Database, actor: str, fields: dict[str, Any]) -> dict[str, Any]:
    return await queries.create_event(db, actor=actor, fields=fields)


async def update_event(
    *, db: Database, actor: str, event_id: int, changes: dict[str, Any]
) -> dict[str, Any]:
    item = await queries.update_event(db, actor=actor, event_id=event_id, changes=changes)
    if item is None:
        raise not_found("event")
    return item


async def delete_event(*, db: Database, actor: str, event_id: int) -> None:
    if not await queries.delete_event(db, actor=actor, event_id=event_id):
        raise not_found("event")


async def event_changes(
    *, db: Database, settings: Settings, cursor: ChangeCursor
) -> AsyncIterator[str]:
    """The stream as text chunks; it waits on the loop, holding no thread between polls."""
    schedule = sse.StreamSchedule(settings, now=time.monotonic())
    yield sse.opening(cursor)
    while not schedule.over(now := time.monotonic()):
        if schedule.poll_due(now):
            try:
                batch = await queries.changed_events(db, after=cursor, limit=sse.BATCH)
            except ApiError:  # database down: end here, and the client reconnects
                return
            for cursor, item in batch:  # each message moves the cursor on
                yield sse.event_message(cursor, item)
            schedule.polled(time.monotonic(), rows=len(batch))
        if schedule.beat_due(time.monotonic()):
            yield sse.HEARTBEAT
        await asyncio.sleep(schedule.pause(time.monotonic()))
