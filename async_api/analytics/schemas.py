from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class Accepted(BaseModel):
    accepted: bool


class AnalyticsEvent(BaseModel):
    id: int
    name: str
    user_id: int | None
    props: Any  # an object when recorded through the API
    created_at: str


class EventPage(BaseModel):
    items: list[AnalyticsEvent]
    total: int
    limit: int
    offset: int


class CategoryPopularity(BaseModel):
    name: str
    subscriptions: int
    bookmarks: int
    views: int
    score: int


class PopularCategories(BaseModel):
    categories: list[CategoryPopularity]
    days: int


class FunnelStep(BaseModel):
    name: str
    users: int


class Funnel(BaseModel):
    steps: list[FunnelStep]
    days: int
