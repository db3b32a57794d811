from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.contracts.common import page
from shared.database.engine import Database
from shared.database.queries import news as queries
from shared.errors import not_found


async def latest_news(*, db: Database, category: str | None, limit: int) -> list[dict[str, Any]]:
    return await queries.latest_news(db, categories=[category] if category else None, limit=limit)


async def news_page(
    *,
    db: Database,
    categories: list[str] | None,
    source: str | None,
    since: datetime | None,
    until: datetime | None,
    order: str,
    limit: int,
    offset: int,
) -> dict[str, Any]:
    items, total = await queries.list_news(
        db,
        categories=categories,
        source=source,
        since=since,
        until=until,
        order=order,
        limit=limit,
        offset=offset,
    )
    return page(items, total=total, limit=limit, offset=offset)


async def news_item(*, db: Database, news_id: int) -> dict[str, Any]:
    item = await queries.news_by_id(db, news_id=news_id)
    if item is None:
        raise not_found("news item")
    return item


async def search(*, db: Database, q: str, limit: int, offset: int) -> dict[str, Any]:
    items, total = await queries.search_news(db, q=q, limit=limit, offset=offset)
    return page(items, total=total, limit=limit, offset=offset)


async def trending(*, db: Database, hours: int, limit: int, offset: int) -> dict[str, Any]:
    items, total = await queries.trending_news(db, hours=hours, limit=limit, offset=offset)
    return page(items, total=total, limit=limit, offset=offset)


async def give_feedback(*, db: Database, news_id: int, user_id: int, value: int) -> dict[str, int]:
    counts = await queries.record_feedback(db, news_id=news_id, user_id=user_id, value=value)
    if counts is None:
        raise not_found("news item")
    return counts


async def from_source(*, db: Database, source: str, limit: int, offset: int) -> dict[str, Any]:
    found = await queries.news_from_source(db, source=source, limit=limit, offset=offset)
    if found is None:
        raise not_found("source")
    items, total = found
    return page(items, total=total, limit=limit, offset=offset)


async def in_category(*, db: Database, category: str, limit: int, offset: int) -> dict[str, Any]:
    found = await queries.news_in_category(db, category=category, limit=limit, offset=offset)
    if found is None:
        raise not_found("category")
    items, total = found
    return page(items, total=total, limit=limit, offset=offset)


async def stats(*, db: Database) -> dict[str, Any]:
    return await queries.news_stats(db)
