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
