"""News queries."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from shared.categories import CATEGORY_TREE, is_known
from shared.database.engine import Database
from shared.database.queries.sources import source_id_by_name
from shared.database.rows import fraction, iso, utcnow
from shared.database.schema import MAX_ID, news, news_feedback, sources
from shared.database.upsert import insert

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


_NEWS_SELECT = sa.select(*NEWS_COLUMNS).select_from(news.outerjoin(sources))
_NEWS_COUNT = sa.select(sa.func.count()).select_from(news.outerjoin(sources))


def news_select() -> sa.Select:
    """News rows with their source's name (statements are immutable: one base serves all)."""
    return _NEWS_SELECT


def paged(query: sa.Select) -> sa.Select:
    """`query` with its LIMIT and OFFSET as the `limit` and `offset` parameters: built once.
    BIGINT, as SQLAlchemy types a literal beyond int32 (an offset may be 2**63 - 1)."""
    return query.limit(sa.bindparam("limit", type_=sa.BigInteger)).offset(
        sa.bindparam("offset", type_=sa.BigInteger)
    )


def news_item(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "title": row["title"],
        "summary": row["summary"],
        "link": row["link"],
        "source": row["source"],
        "category": row["category"],
        "subcategory": row["subcategory"],
        "importance": fraction(row["importance"]),
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


NewsPage = tuple[list[dict[str, Any]], int]
ORDER_NEWEST = (news.c.published_at.desc(), news.c.id.desc())
ORDER_IMPORTANT = (news.c.importance.desc(), news.c.published_at.desc(), news.c.id.desc())
# The unfiltered pages (the frontend's hot path), built once.
_PAGES = {
    "newest": paged(_NEWS_SELECT.order_by(*ORDER_NEWEST)),
    "important": paged(_NEWS_SELECT.order_by(*ORDER_IMPORTANT)),
}


async def latest_news(
    db: Database, *, categories: Sequence[str] | None = None, limit: int = 20, offset: int = 0
) -> list[dict[str, Any]]:
    if categories:
        query = news_select().where(category_condition(categories)).order_by(*ORDER_NEWEST)
        rows = await db.fetch_all(query.limit(limit).offset(offset))
    else:
        rows = await db.fetch_all(_PAGES["newest"], {"limit": limit, "offset": offset})
    return [news_item(row) for row in rows]


async def _page(
    db: Database,
    conditions: Sequence[sa.ColumnElement[bool]],
    *,
    order: Sequence[sa.ColumnElement[Any]],
    limit: int,
    offset: int,
) -> NewsPage:
    """One page of news and the total behind it (two queries, run concurrently)."""
    if not conditions and (order is ORDER_NEWEST or order is ORDER_IMPORTANT):
        rows_query = _PAGES["newest" if order is ORDER_NEWEST else "important"]
        window = {"limit": limit, "offset": offset}
        rows, total = await asyncio.gather(
            db.fetch_all(rows_query, window), db.scalar(_NEWS_COUNT, {})
        )
        return [news_item(row) for row in rows], int(total or 0)
    rows_query = news_select().where(*conditions).order_by(*order).limit(limit).offset(offset)
    total_query = _NEWS_COUNT.where(*conditions)
    rows, total = await asyncio.gather(db.fetch_all(rows_query), db.scalar(total_query))
    return [news_item(row) for row in rows], int(total or 0)


async def list_news(
    db: Database,
    *,
    categories: Sequence[str] | None = None,
    source: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    order: str = "published_at",
    limit: int = 20,
    offset: int = 0,
) -> NewsPage:
    """Filtered news; `since` is inclusive, `until` exclusive."""
    conditions = []
    if categories:
        conditions.append(category_condition(categories))
    if source is not None:
        conditions.append(sources.c.name == source)
    if since is not None:
        conditions.append(news.c.published_at >= since)
    if until is not None:
        conditions.append(news.c.published_at < until)
    ordering = ORDER_IMPORTANT if order == "importance" else ORDER_NEWEST
    return await _page(db, conditions, order=ordering, limit=limit, offset=offset)


async def search_news(db: Database, *, q: str, limit: int = 20, offset: int = 0) -> NewsPage:
    """Title or summary containing `q`, case-insensitively (`%` and `_` match themselves)."""
    needle = q.lower()
    condition = sa.or_(
        sa.func.lower(news.c.title).contains(needle, autoescape=True),
        sa.func.lower(news.c.summary).contains(needle, autoescape=True),
    )
    return await _page(db, [condition], order=ORDER_NEWEST, limit=limit, offset=offset)


async def trending_news(
    db: Database, *, hours: int = 24, limit: int = 20, offset: int = 0
) -> NewsPage:
    """Published in the last `hours` (none from the future), most important first."""
    now = utcnow()
    conditions = [
        news.c.published_at >= now - timedelta(hours=hours),
        news.c.published_at <= now,
    ]
    return await _page(db, conditions, order=ORDER_IMPORTANT, limit=limit, offset=offset)


async def news_from_source(
    db: Database, *, source: str, limit: int = 20, offset: int = 0
) -> NewsPage | None:
    """That source's news, newest first; None when no source has this name."""
    source_id, found = await asyncio.gather(
        source_id_by_name(db, name=source),
        _page(db, [sources.c.name == source], order=ORDER_NEWEST, limit=limit, offset=offset),
    )
    return None if source_id is None else found


async def news_in_category(
    db: Database, *, category: str, limit: int = 20, offset: int = 0
) -> NewsPage | None:
    """A category's (or subcategory's) news, newest first; None for an unknown name."""
    if not is_known(category):
        return None
    return await list_news(db, categories=[category], limit=limit, offset=offset)


async def news_by_id(db: Database, *, news_id: int) -> dict[str, Any] | None:
    """One news item with its feedback counts."""
    if not 0 < news_id <= MAX_ID:
        return None
    row = await db.fetch_one(
        news_select().add_columns(*_feedback_counts(news.c.id)).where(news.c.id == news_id)
    )
    if row is None:
        return None
    return {**news_item(row), "likes": int(row["likes"]), "dislikes": int(row["dislikes"])}


def _feedback_counts(news_id: Any) -> tuple[sa.Label[Any], sa.Label[Any]]:
    def count(value: int) -> sa.Label[Any]:
        votes = sa.select(sa.func.count()).where(
            news_feedback.c.news_id == news_id, news_feedback.c.value == value
        )
        return votes.scalar_subquery().label("likes" if value > 0 else "dislikes")

    return count(1), count(-1)


async def record_feedback(
    db: Database, *, news_id: int, user_id: int, value: int
) -> dict[str, int] | None:
    """The user's one vote on a news item (a new vote replaces the old); None: no such news."""
    if not 0 < news_id <= MAX_ID:
        return None
    async with db.transaction() as tx:
        if await tx.scalar(sa.select(news.c.id).where(news.c.id == news_id)) is None:
            return None
        vote = insert(db, news_feedback).values(
            news_id=news_id, user_id=user_id, value=value, created_at=utcnow()
        )
        # Atomic upsert: two concurrent votes by one user never trip the unique constraint.
        await tx.execute(
            vote.on_conflict_do_update(
                index_elements=[news_feedback.c.news_id, news_feedback.c.user_id],
                set_={"value": vote.excluded.value, "created_at": vote.excluded.created_at},
            )
        )
        counts = await tx.fetch_one(sa.select(*_feedback_counts(news_id)))
    assert counts is not None
    return {"news_id": news_id, "likes": int(counts["likes"]), "dislikes": int(counts["dislikes"])}


async def news_stats(db: Database) -> dict[str, Any]:
    """Totals by category (every category, zero when empty) and the newest publication."""
    rows = await db.fetch_all(
        sa.select(
            news.c.category,
            sa.func.count().label("count"),
            sa.func.max(news.c.published_at).label("last"),
        )
        .group_by(news.c.category)
        .order_by(news.c.category)
    )
    by_category = dict.fromkeys(CATEGORY_TREE, 0)
    by_category.update({row["category"]: int(row["count"]) for row in rows})
    last = max((row["last"] for row in rows), default=None)
    return {
        "total": sum(by_category.values()),
        "by_category": by_category,
        "last_published_at": iso(last),
    }
