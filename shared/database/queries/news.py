"""News queries."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from shared.categories import CATEGORY_TREE
from shared.database.engine import Database
from shared.database.rows import iso
from shared.database.schema import news, sources

NEWS_COLUMNS = (
    news.c.id,
    news.c.title,
    news.c.summary,
    news.c.link,
    sources.c.name.label("source"),
    news.c.category,
    news.c.subcategory,
    news.c.importance,
    news.c.published_at,
)


def news_select() -> sa.Select:
    return sa.select(*NEWS_COLUMNS).select_from(news.outerjoin(sources))


def news_item(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "title": row["title"],
        "summary": row["summary"],
        "link": row["link"],
        "source": row["source"],
        "category": row["category"],
        "subcategory": row["subcategory"],
        "importance": row["importance"],
        "published_at": iso(row["published_at"]),
    }


def category_condition(names: Sequence[str]) -> sa.ColumnElement[bool]:
    """A category means all of its subcategories; a subcategory means itself."""
    top = [name for name in names if name in CATEGORY_TREE]
    subs = [name for name in names if name not in CATEGORY_TREE]
    clauses = []
    if top:
        clauses.append(news.c.category.in_(top))
    if subs:
        clauses.append(news.c.subcategory.in_(subs))
    return sa.or_(*clauses)


async def latest_news(
    db: Database, *, categories: Sequence[str] | None = None, limit: int = 20, offset: int = 0
) -> list[dict[str, Any]]:
    query = news_select()
    if categories:
        query = query.where(category_condition(categories))
    query = query.order_by(news.c.published_at.desc(), news.c.id.desc()).limit(limit).offset(offset)
    return [news_item(row) for row in await db.fetch_all(query)]
