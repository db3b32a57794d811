"""Analytics for the async half: the same queries as legacy (`shared.database.queries`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.contracts.common import page
from shared.database.engine import Database
from shared.database.queries import analytics as queries


async def track(*, db: Database, name: str, user_id: int | None, props: dict[str, Any]) -> None:
    await queries.record_event(db, name=name, user_id=user_id, props=props)


async def events_page(
    *,
    db: Database,
    name: str | None = None,
    since: datetime | None = None,
    user_id: int | None = None,
    limit: int,
    offset: int,
) -> dict[str, Any]:
    items, total = await queries.list_events(
        db, name=name, since=since, user_id=user_id, limit=limit, offset=offset
    )
    return page(items, total=total, limit=limit, offset=offset)


async def popular_categories(*, db: Database, days: int) -> dict[str, Any]:
    return await queries.popular_categories(db, days=days)


async def funnel(*, db: Database, steps: list[str], days: int) -> dict[str, Any]:
    return await queries.funnel(db, steps=steps, days=days)
