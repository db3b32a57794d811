from __future__ import annotations

from pydantic import BaseModel


class ProcessMetrics(BaseModel):
    pid: int
    started_at: str
    uptime_seconds: float
    requests: int
    errors: int


class DatabaseCheck(BaseModel):
    ok: bool
    latency_ms: float | None


class AiCheck(BaseModel):
    configured: bool
    reachable: bool | None


class DeepHealth(BaseModel):
    status: str
    database: DatabaseCheck
    ai: AiCheck
    last_ingest_at: str | None


class PoolFigures(BaseModel):
    type: str  # the SQLAlchemy pool class
    size: int | None
    max_overflow: int | None
    timeout_seconds: float | None
    overflow: int | None
    checked_in: int | None
    checked_out: int | None
    open: int | None


class DatabaseMetrics(BaseModel):
    backend: str
    pool: PoolFigures
    queries: int


class RouteFigures(BaseModel):
    route_id: str
    side: str
    requests: int
    errors: int
    p50_ms: float | None
    p95_ms: float | None


class RouteMetrics(BaseModel):
    routes: list[RouteFigures]


class ContentMetrics(BaseModel):
    news: int
    events: int
    sources_enabled: int
    last_ingest_at: str | None
