from __future__ import annotations

from pydantic import BaseModel


class Notification(BaseModel):
    id: int
    title: str
    body: str
    is_read: bool
    created_at: str


class NotificationList(BaseModel):
    items: list[Notification]
    total: int
    limit: int
    offset: int


class NotificationResponse(BaseModel):
    notification: Notification
