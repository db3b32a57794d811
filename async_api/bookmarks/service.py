from __future__ import annotations

from typing import Any

from shared.contracts.common import page
from shared.database.engine import Database
from shared.database.queries import bookmarks as queries
from shared.database.queries.bookmarks import ALREADY_BOOKMARKED
from shared.errors import ApiError, not_found


async def bookmarks_of(*, db: Database, user_id: int, limit: int, offset: int) -> dict[str, Any]:
    items, total = await queries.bookmarked_news(db, user_id=user_id, limit=limit, offset=offset)
    return page(items, total=total, limit=limit, offset=offset)


async def add_bookmark(*, db: Database, user_id: int, news_id: int) -> None:
    outcome = await queries.add_bookmark(db, user_id=user_id, news_id=news_id)
    if outcome == "unknown_news":
        raise not_found("news item")
    if outcome == "exists":
        raise ApiError("conflict", ALREADY_BOOKMARKED)


async def remove_bookmark(*, db: Database, user_id: int, news_id: int) -> None:
    if not await queries.remove_bookmark(db, user_id=user_id, news_id=news_id):
        raise not_found("bookmark")
