"""Answers of the WebApp's JSON endpoints (its pages are HTML)."""

from __future__ import annotations

from pydantic import BaseModel

from async_api.news.schemas import NewsItem
from async_api.users.schemas import User


class AuthResponse(BaseModel):
    user: User


class FeedPage(BaseModel):
    items: list[NewsItem]
    total: int
    limit: int
    offset: int
