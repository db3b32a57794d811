"""What `/api/health` and `/api/version` answer, for both halves."""

from __future__ import annotations

import asyncio
from functools import lru_cache
from importlib import metadata
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from shared.database.engine import Database, DatabaseUnavailable

APP_NAME = "newsdigest"
DISTRIBUTION = "newsdigest-gateway"
# A health probe must answer while the database hangs, well inside the bridge's timeout.
HEALTH_TIMEOUT_SECONDS = 3.0


async def health(db: Database) -> tuple[dict[str, Any], int]:
    """`(body, status)`: 200 when the database answers `SELECT 1` in time, else 503."""
    try:
        async with asyncio.timeout(HEALTH_TIMEOUT_SECONDS):
            await db.ping()
    except (DatabaseUnavailable, SQLAlchemyError, OSError, TimeoutError):
        return {"status": "degraded", "database": "down"}, 503
    return {"status": "ok", "database": "ok"}, 200


@lru_cache
def _version_number() -> str:
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:  # a source tree that was never installed
        return "0+unknown"


def version() -> dict[str, Any]:
    return {"name": APP_NAME, "version": _version_number()}
