from __future__ import annotations

from pydantic import BaseModel


class User(BaseModel):
    id: int
    telegram_id: int
    username: str | None
    language: str
    is_blocked: bool
    created_at: str
    last_seen_at: str | None


class UserCreated(BaseModel):
    user: User
    created: bool


class Profile(User):
    subscriptions_count: int
    bookmarks_count: int
    digests_count: int


class ProfileResponse(BaseModel):
    user: Profile


class Preferences(BaseModel):
    user_id: int
    style: str
    tone: str
    length: str
    audience: str
    language: str
    notify_time: str
    timezone: str
