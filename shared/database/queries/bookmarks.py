"""Bookmarks: news items a user saved, newest bookmark first."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

import sqlalchemy as sa

from shared.database.engine import Database
from shared.database.queries.news import news_item, news_select
from shared.database.rows import iso, utcnow
from shared.database.schema import bookmarks, news
from shared.database.upsert import insert

AddOutcome = Literal["added", "exists", "unknown_news"]
ALREADY_BOOKMARKED = "this news item is already bookmarked"  # the 409's message, both halves


async def bookmarked_news(
    db: Database, *, user_id: int, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """One page of the user's bookmarked news (with `bookmarked_at`) and the total."""
    mine = bookmarks.c.user_id == user_id
    page = (
        news_select()
        .add_columns(bookmarks.c.created_at.label("bookmarked_at"))
        .join(bookmarks, bookmarks.c.news_id == news.c.id)
        .where(mine)
        .order_by(bookmarks.c.created_at.desc(), bookmarks.c.id.desc())
        .limit(limit)
        .offset(offset)
    )
    rows, total = await asyncio.gather(
        db.fetch_all(page),
        db.scalar(sa.select(sa.func.count()).select_from(bookmarks).where(mine)),
    )
    items = [{**news_item(row), "bookmarked_at": iso(row["bookmarked_at"])} for row in rows]
    return items, int(total or 0)


async def add_bookmark(db: Database, *, user_id: int, news_id: int) -> AddOutcome:
    """Race-free: of concurrent identical calls exactly one is "added", the rest "exists".

    One statement inserts the bookmark if the news item exists and the bookmark does not;
    only when it inserts nothing does a second query tell the two reasons apart.
    """
    async with db.transaction() as tx:
        the_news_item = sa.select(
            sa.literal(user_id), news.c.id, sa.literal(utcnow(), sa.DateTime)
        ).where(news.c.id == news_id)
        added = await tx.scalar(
            insert(db, bookmarks)
            .from_select(["user_id", "news_id", "created_at"], the_news_item)
            .on_conflict_do_nothing(index_elements=[bookmarks.c.user_id, bookmarks.c.news_id])
            .returning(bookmarks.c.id)
        )
        if added is not None:
            return "added"
        if await tx.scalar(sa.select(news.c.id).where(news.c.id == news_id)) is None:
            return "unknown_news"
    return "exists"


async def remove_bookmark(db: Database, *, user_id: int, news_id: int) -> bool:
    """True when there was a bookmark to remove (of concurrent calls, exactly one)."""
    async with db.transaction() as tx:
        result = await tx.execute(
            bookmarks.delete().where(bookmarks.c.user_id == user_id, bookmarks.c.news_id == news_id)
        )
        return bool(result.rowcount)
