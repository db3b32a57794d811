"""The CPU floor: a minimal FastAPI app answering `GET /api/news/latest` as the async half
does, with nothing else.

`uvicorn bench.floor_app:app`, with the environment the servers under test get
(DATABASE_URL, DB_POOL_SIZE, DB_SIMULATED_LATENCY_MS): the same SQL, on the same driver
(asyncpg or aiosqlite, straight, without SQLAlchemy), the rows turned into the same items
by the same function (`news_item`), and the answer encoded with orjson. What a
configuration spends per request beyond this app is the cost of its own layers, not of
the work itself.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
from fastapi import FastAPI, Query, Response
from sqlalchemy.engine import make_url

from shared.database.engine import normalize_url
from shared.database.queries.news import news_item

DATABASE_URL = normalize_url(os.environ.get("DATABASE_URL", "sqlite+aiosqlite:///var/app.db"))
POOL_SIZE = int(os.environ.get("DB_POOL_SIZE", "10"))
SIMULATED_LATENCY_S = int(os.environ.get("DB_SIMULATED_LATENCY_MS", "0")) / 1000

# What the async half's latest_news() compiles to without a category; `?` or `$n` below.
LATEST_SQL = (
    "SELECT news.id, news.title, news.summary, news.link, sources.name AS source, "
    "news.category, news.subcategory, news.importance, news.published_at "
    "FROM news LEFT OUTER JOIN sources ON sources.id = news.source_id "
    "ORDER BY news.published_at DESC, news.id DESC LIMIT {} OFFSET {}"
)


class SQLitePool:
    """`size` aiosqlite connections (a thread each), one request at a time on each."""

    def __init__(self, path: str, size: int) -> None:
        self.path, self.size = path, size
        self.idle: asyncio.Queue[Any] = asyncio.Queue()
        self.opened: list[Any] = []

    async def open(self) -> None:
        import aiosqlite

        for _ in range(self.size):
            conn = await aiosqlite.connect(self.path, timeout=30)
            conn.row_factory = sqlite3.Row
            self.opened.append(conn)
            self.idle.put_nowait(conn)

    async def fetch(self, sql: str, *args: Any) -> list[Any]:
        conn = await self.idle.get()
        try:
            await simulated_latency()
            return list(await conn.execute_fetchall(sql, args))  # one trip to its thread
        finally:
            self.idle.put_nowait(conn)

    async def close(self) -> None:
        for conn in self.opened:
            await conn.close()


class PostgresPool:
    """asyncpg's own pool, as large as the engine's (DB_POOL_SIZE plus as much overflow)."""

    def __init__(self, dsn: str, size: int) -> None:
        self.dsn, self.size = dsn, size
        self.pool: Any = None

    async def open(self) -> None:
        import asyncpg

        self.pool = await asyncpg.create_pool(self.dsn, min_size=1, max_size=2 * self.size)

    async def fetch(self, sql: str, *args: Any) -> list[Any]:
        async with self.pool.acquire() as conn:
            await simulated_latency()
            return list(await conn.fetch(sql, *args))

    async def close(self) -> None:
        await self.pool.close()


async def simulated_latency() -> None:
    """DB_SIMULATED_LATENCY_MS, slept with a connection checked out, as the engine does."""
    if SIMULATED_LATENCY_S:
        await asyncio.sleep(SIMULATED_LATENCY_S)


def open_pool() -> tuple[SQLitePool | PostgresPool, str]:
    """The pool for DATABASE_URL, and the latest-news statement in its driver's style."""
    url = make_url(DATABASE_URL)
    if url.get_backend_name() == "sqlite":
        return SQLitePool(url.database or "", POOL_SIZE), LATEST_SQL.format("?", "?")
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    return PostgresPool(dsn, POOL_SIZE), LATEST_SQL.format("$1", "$2")


pool, latest_sql = open_pool()


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    await pool.open()
    try:
        yield
    finally:
        await pool.close()


app = FastAPI(
    title="bench: the CPU floor", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan
)


@app.get("/api/news/latest")
async def latest_news(limit: int = Query(20, ge=1, le=100)) -> Response:
    rows = await pool.fetch(latest_sql, limit, 0)
    items = [news_item(row) for row in rows]  # asyncpg's Record and sqlite3.Row, by name
    body = orjson.dumps({"news": items, "count": len(items)})
    return Response(body, media_type="application/json")


@app.get("/ready")
async def ready() -> Response:
    await pool.fetch("SELECT 1")
    return Response(b'{"ready":true}', media_type="application/json")
