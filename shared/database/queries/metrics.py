"""Figures about the content and the database itself, for `/api/metrics`."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import sqlalchemy as sa

from shared.database.engine import Database
from shared.database.rows import iso
from shared.database.schema import events, news, sources

# A health check must answer even when the database hangs.
DATABASE_CHECK_SECONDS = 5.0


def _count(table: sa.Table, *where: sa.ColumnElement[bool]) -> sa.ScalarSelect[Any]:
    return sa.select(sa.func.count()).select_from(table).where(*where).scalar_subquery()


def _last_fetched() -> sa.ScalarSelect[Any]:
    return sa.select(sa.func.max(sources.c.last_fetched_at)).scalar_subquery()


async def last_ingest_at(db: Database) -> str | None:
    """When any source (enabled or not) was last fetched."""
    return iso(await db.scalar(sa.select(sa.func.max(sources.c.last_fetched_at))))


async def content_totals(db: Database) -> dict[str, Any]:
    """Totals of news, events and enabled sources, and the last ingest, in one round trip."""
    row = await db.fetch_one(
        sa.select(
            _count(news).label("news"),
            _count(events).label("events"),
            _count(sources, sources.c.enabled.is_(True)).label("sources_enabled"),
            _last_fetched().label("last_ingest_at"),
        )
    )
    assert row is not None
    return {
        "news": int(row["news"]),
        "events": int(row["events"]),
        "sources_enabled": int(row["sources_enabled"]),
        "last_ingest_at": iso(row["last_ingest_at"]),
    }


async def database_check(db: Database) -> dict[str, Any]:
    """`{"ok", "latency_ms"}` of one round trip; a failure or a hang is `ok: false`."""
    started = time.perf_counter()
    try:
        await asyncio.wait_for(db.ping(), DATABASE_CHECK_SECONDS)
    except Exception:  # whatever broke, the answer is "not ok", never an error page
        return {"ok": False, "latency_ms": None}
    return {"ok": True, "latency_ms": round((time.perf_counter() - started) * 1000, 2)}


async def database_health(db: Database) -> dict[str, Any]:
    """The database check, and the last ingest when the database answers."""
    check = await database_check(db)
    last = None
    if check["ok"]:
        try:
            last = await last_ingest_at(db)
        except Exception:  # went down between the two queries: report what we know
            check = {"ok": False, "latency_ms": None}
    return {"database": check, "last_ingest_at": last}
