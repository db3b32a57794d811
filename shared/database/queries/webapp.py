"""Queries behind the Telegram WebApp: the personal feed and the upcoming events."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from shared.database.engine import Database
from shared.database.queries.events import EVENT_COLUMNS, event_item
from shared.database.queries.events import ORDER as SOONEST_FIRST
from shared.database.queries.news import ORDER_NEWEST, news_item, news_select, paged
from shared.database.schema import events, news, subscriptions


def _subscribed() -> sa.ColumnElement[bool]:
    """News whose category the user (the `user_id` parameter) subscribes to
    (subscriptions are top-level only)."""
    user_id = sa.bindparam("user_id", type_=sa.BigInteger)
    categories = sa.select(subscriptions.c.category).where(subscriptions.c.user_id == user_id)
    return news.c.category.in_(categories)


# Built once; `user_id`, `limit` and `offset` are bound per request.
_FEED = paged(news_select().where(_subscribed()).order_by(*ORDER_NEWEST))
_FEED_TOTAL = sa.select(sa.func.count()).select_from(news).where(_subscribed())


async def subscribed_news(
    db: Database, *, user_id: int, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """One page of the user's feed, newest first, and the feed's total length."""
    window = {"user_id": user_id, "limit": limit, "offset": offset}
    rows, total = await asyncio.gather(
        db.fetch_all(_FEED, window), db.scalar(_FEED_TOTAL, {"user_id": user_id})
    )
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
