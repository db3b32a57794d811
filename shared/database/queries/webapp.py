"""Queries behind the Telegram WebApp: the personal feed and the upcoming events."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from shared.database.engine import Database
from shared.database.queries.events import EVENT_COLUMNS, event_item
from shared.database.queries.events import ORDER as SOONEST_FIRST
from shared.database.queries.news import ORDER_NEWEST, news_item, news_select
from shared.database.schema import events, news, subscriptions


def _subscribed(user_id: int) -> sa.ColumnElement[bool]:
    """News whose category the user subscribes to (subscriptions are top-level only)."""
    categories = sa.select(subscriptions.c.category).where(subscriptions.c.user_id == user_id)
    return news.c.category.in_(categories)


async def subscribed_news(
    db: Database, *, user_id: int, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """One page of the user's feed, newest first, and the feed's total length."""
    rows_query = (
        news_select()
        .where(_subscribed(user_id))
        .order_by(*ORDER_NEWEST)
        .limit(limit)
        .offset(offset)
    )
    total_query = sa.select(sa.func.count()).select_from(news).where(_subscribed(user_id))
    rows, total = await asyncio.gather(db.fetch_all(rows_query), db.scalar(total_query))
    return [news_item(row) for row in rows], int(total or 0)


async def upcoming_events(
    db: Database, *, now: datetime, category: str | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """Events not yet over at `now` (running ones included), soonest first."""
    over_at = sa.func.coalesce(events.c.ends_at, events.c.starts_at)
    query = sa.select(*EVENT_COLUMNS).where(over_at >= now)
    if category:
        query = query.where(events.c.category == category)
    query = query.order_by(*SOONEST_FIRST).limit(limit)
    return [event_item(row) for row in await db.fetch_all(query)]
