from __future__ import annotations

from pydantic import BaseModel


class Subscription(BaseModel):
    category: str
    created_at: str


class CategoryChoice(BaseModel):
    name: str
    subscribed: bool


class SubscriptionsResponse(BaseModel):
    user_id: int
    subscriptions: list[Subscription]
    categories: list[CategoryChoice]


class SubscriptionUpdated(BaseModel):
    success: bool
    category: str
    subscribed: bool


class Success(BaseModel):
    success: bool
