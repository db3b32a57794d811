"""The CPU floor: a minimal FastAPI app answering the frontend's hot path (the five hottest
read routes) as the async half does, with nothing else.

`uvicorn bench.floor_app:app`, with the environment the servers under test get
(DATABASE_URL, DB_POOL_SIZE, DB_SIMULATED_LATENCY_MS): for each route the statements the
async half's queries compile to (copied below, as SQLAlchemy renders them for the driver),
run on the same driver (asyncpg or aiosqlite, straight, without SQLAlchemy) in the same
order (the async half's concurrent pairs side by side here too), the rows turned into the
same items by the same functions (`news_item`, `event_item`, `iso`), and the answer
encoded with orjson. User-scoped routes look the user up first, as the async half does
without a Telegram bot token (`user_id` trusted): 404 when there is none, 403 when
blocked. What a configuration spends per request beyond this app is the cost of its own
layers, not of the work itself. `bench --smoke` checks that every answer here is the
async half's.
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

from shared.categories import CATEGORIES
from shared.database.engine import normalize_url
from shared.database.queries.events import event_item
from shared.database.queries.news import news_item
from shared.database.rows import iso

DATABASE_URL = normalize_url(os.environ.get("DATABASE_URL", "sqlite+aiosqlite:///var/app.db"))
POOL_SIZE = int(os.environ.get("DB_POOL_SIZE", "10"))
SIMULATED_LATENCY_S = int(os.environ.get("DB_SIMULATED_LATENCY_MS", "0")) / 1000

# What the async half's statements compile to; each `{}` is a bound value, `?` on SQLite and
# `$n::BIGINT` on PostgreSQL (every one of them is a BigInteger bindparam there).
_NEWS = (
    "SELECT news.id, news.title, news.summary, news.link, sources.name AS source, "
    "news.category, news.subcategory, news.importance, news.published_at "
    "FROM news LEFT OUTER JOIN sources ON sources.id = news.source_id "
)
_NEWEST = "ORDER BY news.published_at DESC, news.id DESC LIMIT {} OFFSET {}"
_SUBSCRIBED = (
    "WHERE news.category IN (SELECT subscriptions.category FROM subscriptions "
    "WHERE subscriptions.user_id = {}) "
)
# shared.database.queries.news: latest_news() without a category, and list_news()'s page
LATEST_SQL = _NEWS + _NEWEST
NEWS_COUNT_SQL = (
    "SELECT count(*) AS count_1 FROM news LEFT OUTER JOIN sources ON sources.id = news.source_id"
)
# shared.database.queries.users: user_by_id() (acting_user without a bot token)
USER_SQL = (
    "SELECT users.id, users.telegram_id, users.username, users.language, users.is_blocked, "
    "users.created_at, users.last_seen_at FROM users WHERE users.id = {}"
)
# shared.database.queries.subscriptions: list_subscriptions()
SUBSCRIPTIONS_SQL = (
    "SELECT subscriptions.category, subscriptions.created_at FROM subscriptions "
    "WHERE subscriptions.user_id = {} ORDER BY subscriptions.created_at, subscriptions.id"
)
# shared.database.queries.events: list_events() without filters (_every_event)
EVENTS_COUNT_SQL = "SELECT count(*) AS count_1 FROM events"
EVENTS_SQL = (
    "SELECT events.id, events.title, events.description, events.category, events.location, "
    "events.starts_at, events.ends_at, events.importance FROM events "
    "ORDER BY events.starts_at, events.id LIMIT {} OFFSET {}"
)
# shared.database.queries.webapp: subscribed_news()
FEED_SQL = _NEWS + _SUBSCRIBED + _NEWEST
FEED_TOTAL_SQL = "SELECT count(*) AS count_1 FROM news " + _SUBSCRIBED.rstrip()


class SQLitePool:
    """`size` aiosqlite connections (a thread each), one request at a time on each; the
    most recently used first, as asyncpg's pool (and the engine's direct reads) take them:
    a thread that has just run is cheaper to wake than one asleep for longer."""

    def __init__(self, path: str, size: int) -> None:
        self.path, self.size = path, size
        self.idle: asyncio.LifoQueue[Any] = asyncio.LifoQueue()
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
    """asyncpg's own pool, as large as the engine's (DB_POOL_SIZE, no overflow), each
    connection kept once opened."""

    def __init__(self, dsn: str, size: int) -> None:
        self.dsn, self.size = dsn, size
        self.pool: Any = None

    async def open(self) -> None:
        import asyncpg

        self.pool = await asyncpg.create_pool(
            self.dsn, min_size=1, max_size=self.size, max_inactive_connection_lifetime=0
        )

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


def open_pool() -> tuple[SQLitePool | PostgresPool, bool]:
    """The pool for DATABASE_URL, and whether it is SQLite (`?` placeholders)."""
    url = make_url(DATABASE_URL)
    if url.get_backend_name() == "sqlite":
        return SQLitePool(url.database or "", POOL_SIZE), True
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    return PostgresPool(dsn, POOL_SIZE), False


pool, on_sqlite = open_pool()


def driver_sql(template: str) -> str:
    """`template` with the driver's placeholders: `?`, or `$1::BIGINT`, `$2::BIGINT`, …"""
    count = template.count("{}")
    if on_sqlite:
        return template.format(*["?"] * count)
    return template.format(*[f"${n}::BIGINT" for n in range(1, count + 1)])


latest_sql, news_count_sql = driver_sql(LATEST_SQL), driver_sql(NEWS_COUNT_SQL)
user_sql, subscriptions_sql = driver_sql(USER_SQL), driver_sql(SUBSCRIPTIONS_SQL)
events_sql, events_count_sql = driver_sql(EVENTS_SQL), driver_sql(EVENTS_COUNT_SQL)
feed_sql, feed_total_sql = driver_sql(FEED_SQL), driver_sql(FEED_TOTAL_SQL)


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

LIMIT = Query(20, ge=1, le=100)
OFFSET = Query(0, ge=0)
USER_ID = Query(ge=1)


def json(content: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(content), status_code=status, media_type="application/json")


def page(items: list[Any], total: int, limit: int, offset: int) -> Response:
    return json({"items": items, "total": total, "limit": limit, "offset": offset})


async def acting_user(user_id: int) -> dict[str, Any] | Response:
    """The user row, or the answer when there is none to act as (no bot token here)."""
    rows = await pool.fetch(user_sql, user_id)
    if not rows:
        return json({"error": {"code": "not_found", "message": "user not found"}}, 404)
    if rows[0]["is_blocked"]:
        return json({"error": {"code": "forbidden", "message": "this user is blocked"}}, 403)
    return dict(rows[0])


@app.get("/api/news/latest")
async def latest_news(limit: int = LIMIT) -> Response:
    rows = await pool.fetch(latest_sql, limit, 0)
    items = [news_item(row) for row in rows]  # asyncpg's Record and sqlite3.Row, by name
    return json({"news": items, "count": len(items)})


@app.get("/api/news")
async def list_news(limit: int = LIMIT, offset: int = OFFSET) -> Response:
    rows, counted = await asyncio.gather(
        pool.fetch(latest_sql, limit, offset), pool.fetch(news_count_sql)
    )
    return page([news_item(row) for row in rows], int(counted[0][0] or 0), limit, offset)


@app.get("/api/subscriptions")
async def subscriptions(user_id: int = USER_ID) -> Response:
    user = await acting_user(user_id)
    if isinstance(user, Response):
        return user
    rows = await pool.fetch(subscriptions_sql, user["id"])
    items = [{"category": row["category"], "created_at": iso(row["created_at"])} for row in rows]
    subscribed = {item["category"] for item in items}
    categories = [{"name": name, "subscribed": name in subscribed} for name in CATEGORIES]
    return json({"user_id": user["id"], "subscriptions": items, "categories": categories})


@app.get("/api/events/")
async def list_events(limit: int = LIMIT, offset: int = OFFSET) -> Response:
    counted, rows = await asyncio.gather(
        pool.fetch(events_count_sql), pool.fetch(events_sql, limit, offset)
    )
    return page([event_item(row) for row in rows], int(counted[0][0] or 0), limit, offset)


@app.get("/webapp/api/feed")
async def feed(user_id: int = USER_ID, limit: int = LIMIT, offset: int = OFFSET) -> Response:
    user = await acting_user(user_id)
    if isinstance(user, Response):
        return user
    rows, counted = await asyncio.gather(
        pool.fetch(feed_sql, user["id"], limit, offset), pool.fetch(feed_total_sql, user["id"])
    )
    return page([news_item(row) for row in rows], int(counted[0][0] or 0), limit, offset)


@app.get("/ready")
async def ready() -> Response:
    await pool.fetch("SELECT 1")
    return Response(b'{"ready":true}', media_type="application/json")
