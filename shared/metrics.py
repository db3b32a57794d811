"""What `/api/metrics` reports that is not in the database: the process, its request
figures, its connection pool, and whether the AI service answers. Both halves build their
answers here, so only the I/O differs (sync in legacy, async in the new half)."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from typing import Any

import httpx

from shared.database.engine import Database
from shared.database.rows import iso
from shared.runtime import Runtime
from shared.settings import Settings

# The SDK's own default, used when OPENAI_BASE_URL is unset.
OPENAI_DEFAULT_BASE_URL = "https://api.openai.com/v1"
# Short: a health check that waits on a slow AI for the digest timeout is useless.
AI_CHECK_TIMEOUT = httpx.Timeout(3.0)


def process_figures(rt: Runtime) -> dict[str, Any]:
    """Requests and errors (5xx) this process has finished serving, before this one."""
    totals = rt.stats.totals()
    return {
        "pid": os.getpid(),
        "started_at": iso(datetime.fromtimestamp(rt.started_at, UTC)),
        "uptime_seconds": round(time.time() - rt.started_at, 1),
        "requests": totals["requests"],
        "errors": totals["errors"],
    }


def route_figures(rt: Runtime) -> dict[str, Any]:
    return {"routes": rt.stats.by_route()}


def _pool_figure(pool: Any, method: str) -> int | None:
    # Only queue pools keep these counts (SQLite and PostgreSQL both get one here); a
    # NullPool or StaticPool answers null rather than a made-up number.
    figure = getattr(pool, method, None)
    return int(figure()) if callable(figure) else None


def pool_figures(db: Database) -> dict[str, Any]:
    """The backend and its pool: configured limits and the connections right now."""
    pool = db.pool
    size = _pool_figure(pool, "size")
    overflow = _pool_figure(pool, "overflow")
    checked_in = _pool_figure(pool, "checkedin")
    checked_out = _pool_figure(pool, "checkedout")
    if checked_in is not None and checked_out is not None:  # idle, though kept by direct reads
        checked_in, checked_out = checked_in + db.idle_direct, checked_out - db.idle_direct
    timeout = getattr(pool, "timeout", None)
    max_overflow = getattr(pool, "_max_overflow", None)  # QueuePool has no public accessor
    return {
        "backend": db.backend,
        "pool": {
            "type": type(pool).__name__,
            "size": size,
            "max_overflow": max_overflow if isinstance(max_overflow, int) else None,
            "timeout_seconds": float(timeout()) if callable(timeout) else None,
            # QueuePool counts overflow from -size; what people mean is connections
            # beyond `size`, so it is reported as 0 until the pool grows past it.
            "overflow": max(overflow, 0) if overflow is not None else None,
            "checked_in": checked_in,
            "checked_out": checked_out,
            "open": checked_in + checked_out
            if checked_in is not None and checked_out is not None
            else None,
        },
        "queries": db.queries,
    }


def ai_models_request(settings: Settings) -> tuple[str, dict[str, str]] | None:
    """The URL and headers of the AI reachability check; None when no AI is configured."""
    if not settings.openai_api_key:
        return None
    base_url = (settings.openai_base_url or OPENAI_DEFAULT_BASE_URL).rstrip("/")
    return f"{base_url}/models", {"Authorization": f"Bearer {settings.openai_api_key}"}


def ai_figures(*, configured: bool, status: int | None) -> dict[str, Any]:
    """Reachable means it answered the check with a 2xx (so the key works, too);
    `status` is None when it did not answer at all."""
    if not configured:
        return {"configured": False, "reachable": None}
    return {"configured": True, "reachable": status is not None and 200 <= status < 300}


def health_body(database: dict[str, Any], ai: dict[str, Any]) -> dict[str, Any]:
    """`database` is `database_health()`'s answer; `ai` is `ai_figures()`'s."""
    if not database["database"]["ok"]:
        status = "down"
    elif ai["reachable"] is False:
        status = "degraded"
    else:
        status = "ok"
    return {
        "status": status,
        "database": database["database"],
        "ai": ai,
        "last_ingest_at": database["last_ingest_at"],
    }


def health_status_code(body: dict[str, Any]) -> int:
    """503 only when the database is down: a missing AI degrades, it does not fail."""
    return 503 if body["status"] == "down" else 200
