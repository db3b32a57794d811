"""Dashboard figures. Every count and grouping runs in SQL; Python only zero-fills.

Each function takes the request's `now` (naive UTC), so the figures of one request (and
of the summary, which runs them all) agree on what "today" and "the last N days" mean.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from shared.categories import CATEGORIES
from shared.contracts.common import page
from shared.contracts.dashboard import DEFAULT_DAYS
from shared.database.engine import Database
from shared.database.rows import iso, json_object
from shared.database.schema import analytics_events, digests, events, news, sources, users
from shared.database.schema import subscriptions as subscriptions_table

WEEK_DAYS = 7
UPCOMING_DAYS = 7
ACTIVE_DAYS = 7
DEFAULT_ACTIVITY_LIMIT = 20


def day_start(now: datetime) -> datetime:
    """Midnight UTC of `now`'s day."""
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def day_bucket(db: Database, column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """The UTC calendar day of a timestamp column, grouped on in SQL."""
    if db.backend == "sqlite":
        return sa.func.date(column)  # text 'YYYY-MM-DD'
    return sa.cast(column, sa.Date)


def day_text(value: date | str) -> str:
    """A day bucket as 'YYYY-MM-DD', whichever backend produced it."""
    return value[:10] if isinstance(value, str) else value.isoformat()


def count_where(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
    """Rows matching `condition`, as one column of an aggregate select (0 on no rows)."""
    return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)


def _zero_filled(names: tuple[str, ...], counts: dict[str, int]) -> dict[str, int]:
    """Every known name in its fixed order, then any other name the data holds."""
    filled = {name: counts.get(name, 0) for name in names}
    filled.update({name: count for name, count in counts.items() if name not in filled})
    return filled


async def news_today(db: Database, *, now: datetime) -> dict[str, int]:
    start = day_start(now)
    count = await db.scalar(
        sa.select(sa.func.count())
        .select_from(news)
        .where(news.c.published_at >= start, news.c.published_at < start + timedelta(days=1))
    )
    return {"count": int(count or 0)}


async def news_week(db: Database, *, now: datetime) -> dict[str, list[dict[str, Any]]]:
    """Today and the six days before, oldest first, days without news as 0."""
    first = day_start(now) - timedelta(days=WEEK_DAYS - 1)
    end = day_start(now) + timedelta(days=1)
    bucket = day_bucket(db, news.c.published_at).label("day")
    rows = await db.fetch_all(
        sa.select(bucket, sa.func.count().label("count"))
        .where(news.c.published_at >= first, news.c.published_at < end)
        .group_by(bucket)
    )
    counts = {day_text(row["day"]): int(row["count"]) for row in rows}
    days = [(first + timedelta(days=i)).date().isoformat() for i in range(WEEK_DAYS)]
    return {"days": [{"date": day, "count": counts.get(day, 0)} for day in days]}


async def news_by_category(
    db: Database, *, now: datetime, days: int = DEFAULT_DAYS
) -> dict[str, dict[str, int]]:
    """News published in the last `days` x 24 h, per category (every category listed)."""
    rows = await db.fetch_all(
        sa.select(news.c.category, sa.func.count().label("count"))
        .where(news.c.published_at >= now - timedelta(days=days))
        .group_by(news.c.category)
    )
    counts = {row["category"]: int(row["count"]) for row in rows}
    return {"categories": _zero_filled(CATEGORIES, counts)}


async def news_by_source(
    db: Database, *, now: datetime, days: int = DEFAULT_DAYS
) -> dict[str, dict[str, int]]:
    """News of the last `days` x 24 h per source: every source, busiest first (then by id)."""
    count = sa.func.count(news.c.id)
    joined = sources.outerjoin(
        news,
        sa.and_(
            news.c.source_id == sources.c.id,
            news.c.published_at >= now - timedelta(days=days),
        ),
    )
    rows = await db.fetch_all(
        sa.select(sources.c.name, count.label("count"))
        .select_from(joined)
        .group_by(sources.c.id, sources.c.name)
        .order_by(count.desc(), sources.c.id)
    )
    return {"sources": {row["name"]: int(row["count"]) for row in rows}}


async def events_upcoming(db: Database, *, now: datetime) -> dict[str, int]:
    """Events starting from now until the same time seven days later."""
    count = await db.scalar(
        sa.select(sa.func.count())
        .select_from(events)
        .where(events.c.starts_at >= now, events.c.starts_at < now + timedelta(days=UPCOMING_DAYS))
    )
    return {"count": int(count or 0)}


async def user_figures(db: Database, *, now: datetime) -> dict[str, int]:
    row = await db.fetch_one(
        sa.select(
            sa.func.count().label("total"),
            count_where(users.c.created_at >= day_start(now)).label("new_today"),
            count_where(users.c.last_seen_at >= now - timedelta(days=ACTIVE_DAYS)).label(
                "active_7d"
            ),
            count_where(users.c.is_blocked.is_(True)).label("blocked"),
        ).select_from(users)
    )
    assert row is not None  # an aggregate without GROUP BY always has one row
    return {key: int(row[key]) for key in ("total", "new_today", "active_7d", "blocked")}


async def subscription_figures(db: Database) -> dict[str, Any]:
    rows = await db.fetch_all(
        sa.select(subscriptions_table.c.category, sa.func.count().label("count")).group_by(
            subscriptions_table.c.category
        )
    )
    counts = {row["category"]: int(row["count"]) for row in rows}
    return {"total": sum(counts.values()), "by_category": _zero_filled(CATEGORIES, counts)}


async def digest_figures(db: Database, *, now: datetime) -> dict[str, Any]:
    """`avg_duration_ms` to one decimal over every digest; null when there are none."""
    row = await db.fetch_one(
        sa.select(
            sa.func.count().label("total"),
            count_where(digests.c.created_at >= day_start(now)).label("today"),
            sa.func.coalesce(sa.func.sum(digests.c.duration_ms), 0).label("duration_ms"),
        ).select_from(digests)
    )
    assert row is not None
    total = int(row["total"])
    # Sum and count come from SQL and are divided here, so both backends round alike
    # (PostgreSQL's AVG is NUMERIC, SQLite's a float).
    average = round(int(row["duration_ms"]) / total, 1) if total else None
    return {"total": total, "today": int(row["today"]), "avg_duration_ms": average}


def activity_item(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["name"],
        "user_id": row["user_id"],
        "props": json_object(row["props"]),
        "created_at": iso(row["created_at"]),
    }


async def activity_total(db: Database) -> int:
    return int(await db.scalar(sa.select(sa.func.count()).select_from(analytics_events)) or 0)


async def activity_events(db: Database, *, limit: int, offset: int) -> list[dict[str, Any]]:
    rows = await db.fetch_all(
        sa.select(analytics_events)
        .order_by(analytics_events.c.created_at.desc(), analytics_events.c.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return [activity_item(row) for row in rows]


async def recent_activity(
    db: Database, *, limit: int = DEFAULT_ACTIVITY_LIMIT, offset: int = 0
) -> dict[str, Any]:
    """The catalogue's list shape over the analytics events, newest first."""
    total = await activity_total(db)
    items = await activity_events(db, limit=limit, offset=offset)
    return page(items, total=total, limit=limit, offset=offset)


def summary_parts(
    db: Database, *, now: datetime
) -> dict[str, Callable[[], Awaitable[dict[str, Any]]]]:
    """The summary's figures by key (named after their endpoints), with their defaults.

    Each value starts one independent query when called: the async half gathers them,
    the legacy half runs them one after the other, and both build the same object.
    """
    return {
        "news_today": lambda: news_today(db, now=now),
        "news_week": lambda: news_week(db, now=now),
        "news_by_category": lambda: news_by_category(db, now=now),
        "news_by_source": lambda: news_by_source(db, now=now),
        "events_upcoming": lambda: events_upcoming(db, now=now),
        "users": lambda: user_figures(db, now=now),
        "subscriptions": lambda: subscription_figures(db),
        "digests": lambda: digest_figures(db, now=now),
        "activity": lambda: recent_activity(db),
    }
