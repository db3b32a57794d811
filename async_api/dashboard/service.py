from __future__ import annotations

import asyncio
from typing import Any

from shared.contracts.common import page
from shared.database.engine import Database
from shared.database.queries import dashboard as figures
from shared.database.rows import utcnow


async def news_today(*, db: Database) -> dict[str, int]:
    return await figures.news_today(db, now=utcnow())


async def news_week(*, db: Database) -> dict[str, Any]:
    return await figures.news_week(db, now=utcnow())


async def news_by_category(*, db: Database, days: int) -> dict[str, Any]:
    return await figures.news_by_category(db, now=utcnow(), days=days)


async def news_by_source(*, db: Database, days: int) -> dict[str, Any]:
    return await figures.news_by_source(db, now=utcnow(), days=days)


async def events_upcoming(*, db: Database) -> dict[str, int]:
    return await figures.events_upcoming(db, now=utcnow())


async def users(*, db: Database) -> dict[str, int]:
    return await figures.user_figures(db, now=utcnow())


async def subscriptions(*, db: Database) -> dict[str, Any]:
    return await figures.subscription_figures(db)


async def digests(*, db: Database) -> dict[str, Any]:
    return await figures.digest_figures(db, now=utcnow())


async def activity(*, db: Database, limit: int, offset: int) -> dict[str, Any]:
    total, items = await asyncio.gather(
        figures.activity_total(db), figures.activity_events(db, limit=limit, offset=offset)
    )
    return page(items, total=total, limit=limit, offset=offset)


async def summary(*, db: Database) -> dict[str, Any]:
    """Every figure, from three statements run concurrently (see `figures.summary`)."""
    return await figures.summary(db, now=utcnow())
