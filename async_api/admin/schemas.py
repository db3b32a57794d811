"""Response models of `/admin/api/...`; field order is the JSON's key order."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from async_api.news.schemas import NewsItem


class Stats(BaseModel):
    news: int
    events: int
    users: int
    sources: int
    digests: int


class User(BaseModel):
    id: int
    telegram_id: int
    username: str | None
    language: str
    is_blocked: bool
    created_at: str
    last_seen_at: str | None


class UserListItem(User):
    subscriptions_count: int


class UserPage(BaseModel):
    items: list[UserListItem]
    total: int
    limit: int
    offset: int


class Subscription(BaseModel):
    category: str
    created_at: str


class Activity(BaseModel):
    name: str
    props: dict[str, Any]
    created_at: str


class UserDetail(User):
    subscriptions: list[Subscription]
    last_activity: Activity | None


class UserDetailResponse(BaseModel):
    user: UserDetail


class UserResponse(BaseModel):
    user: User


class Source(BaseModel):
    id: int
    name: str
    url: str
    category: str
    enabled: bool
    last_fetched_at: str | None
    last_error: str | None


class SourcesResponse(BaseModel):
    sources: list[Source]


class SourceResponse(BaseModel):
    source: Source


class FetchResult(BaseModel):
    fetched: int
    inserted: int
    error: str | None


class SourceIngest(BaseModel):
    source_id: int
    name: str
    fetched: int
    inserted: int
    error: str | None


class IngestResponse(BaseModel):
    sources: list[SourceIngest]
    fetched: int
    inserted: int
    failed: int


class IngestProgress(BaseModel):
    """An ingest run: `state` queued, running, done or failed (with `error`)."""

    run: str
    trigger: str
    actor: str
    state: str
    requested_at: str
    started_at: str | None
    finished_at: str | None
    total: int | None
    done: int
    error: str | None
    sources: list[SourceIngest]
    fetched: int
    inserted: int
    failed: int


class NewsResponse(BaseModel):
    news: NewsItem


class AuditEntry(BaseModel):
    id: int
    actor: str
    action: str
    target: str | None
    details: dict[str, Any]
    created_at: str


class AuditPage(BaseModel):
    items: list[AuditEntry]
    total: int
    limit: int
    offset: int


class BroadcastResponse(BaseModel):
    recipients: int
    sent: int
    failed: int
    pending: int  # messages whose jobs have not finished (all of them, when just started)
    failures: dict[str, int]  # why messages failed -> how many
    dry_run: bool
    broadcast_id: int | None  # None for a dry run: nothing is recorded
    digest_id: int | None
    text: str


class Broadcast(BaseModel):
    broadcast_id: int
    category: str | None
    digest_id: int | None
    recipients: int
    sent: int
    failed: int
    pending: int
    failures: dict[str, int]
    text: str
    created_at: str


class BroadcastStatusResponse(BaseModel):
    broadcast: Broadcast
