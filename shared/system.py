"""What `/api/health` and `/api/version` answer, for both halves."""

from __future__ import annotations

from functools import lru_cache
from importlib import metadata
from typing import Any

from shared.database.engine import Database

APP_NAME = "newsdigest"
DISTRIBUTION = "newsdigest-gateway"
# A query that worked this recently proves the database up without asking again, so a busy
# pool never reads as "down"; else a probe on a connection of its own must answer within
# HEALTH_TIMEOUT_SECONDS (well inside the bridge's timeout). A database that refuses or
# drops connections shows as down at once when a request met it, else within about
# RECENT_SUCCESS_SECONDS + HEALTH_TIMEOUT_SECONDS; one that hangs, within
# HUNG_AFTER_SECONDS (a probe too slow while queries still work is a busy process).
RECENT_SUCCESS_SECONDS = 2.0
HEALTH_TIMEOUT_SECONDS = 2.0
HUNG_AFTER_SECONDS = 10.0


async def health(db: Database) -> tuple[dict[str, Any], int]:
    """`(body, status)`: 200 while the database answers, else 503 `"database": "down"`."""
    up = await db.answers(
        recent=RECENT_SUCCESS_SECONDS,
        probe_seconds=HEALTH_TIMEOUT_SECONDS,
        hung_after=HUNG_AFTER_SECONDS,
    )
    if up:
        return {"status": "ok", "database": "ok"}, 200
    return {"status": "degraded", "database": "down"}, 503


@lru_cache
def _version_number() -> str:
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:  # a source tree that was never installed
        return "0+unknown"


def version() -> dict[str, Any]:
    return {"name": APP_NAME, "version": _version_number()}
