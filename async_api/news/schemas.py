from __future__ import annotations

from pydantic import BaseModel


class NewsItem(BaseModel):
    id: int
    title: str
    summary: str
    link: str
    source: str | None
    category: str
    subcategory: str | None
    importance: float
    published_at: str


class LatestNewsResponse(BaseModel):
    news: list[NewsItem]
    count: int


class NewsPage(BaseModel):
    items: list[NewsItem]
    total: int
    limit: int
    offset: int


class NewsDetail(NewsItem):
    likes: int
    dislikes: int


class FeedbackCounts(BaseModel):
    news_id: int
    likes: int
    dislikes: int


class NewsStats(BaseModel):
    total: int
    by_category: dict[str, int]
    last_published_at: str | None
