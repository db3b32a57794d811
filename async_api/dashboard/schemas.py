from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class Count(BaseModel):
    count: int


class DayCount(BaseModel):
    date: str
    count: int


class NewsWeek(BaseModel):
    days: list[DayCount]


class NewsByCategory(BaseModel):
    categories: dict[str, int]


class NewsBySource(BaseModel):
    sources: dict[str, int]


class UserFigures(BaseModel):
    total: int
    new_today: int
    active_7d: int
    blocked: int


class SubscriptionFigures(BaseModel):
    total: int
    by_category: dict[str, int]


class DigestFigures(BaseModel):
    total: int
    today: int
    avg_duration_ms: float | None


class ActivityEvent(BaseModel):
    id: int
    name: str
    user_id: int | None
    props: Any
    created_at: str


class ActivityPage(BaseModel):
    items: list[ActivityEvent]
    total: int
    limit: int
    offset: int


class DashboardSummary(BaseModel):
    news_today: Count
    news_week: NewsWeek
    news_by_category: NewsByCategory
    news_by_source: NewsBySource
    events_upcoming: Count
    users: UserFigures
    subscriptions: SubscriptionFigures
    digests: DigestFigures
    activity: ActivityPage
