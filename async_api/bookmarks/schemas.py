from __future__ import annotations

from pydantic import BaseModel

from async_api.news.schemas import NewsItem


class BookmarkedNews(NewsItem):
    bookmarked_at: str


class BookmarkList(BaseModel):
    items: list[BookmarkedNews]
    total: int
    limit: int
    offset: int


class BookmarkChanged(BaseModel):
    success: bool
    news_id: int
