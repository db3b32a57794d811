from __future__ import annotations

from pydantic import BaseModel


class EventItem(BaseModel):
    id: int
    title: str
    description: str
    category: str
    location: str | None
    starts_at: str
    ends_at: str | None
    importance: float


class EventPage(BaseModel):
    items: list[EventItem]
    total: int
    limit: int
    offset: int


class CalendarMonth(BaseModel):
    month: str
    days: dict[str, list[EventItem]]


class CategoryUpcoming(BaseModel):
    name: str
    upcoming: int


class EventCategories(BaseModel):
    categories: list[CategoryUpcoming]
