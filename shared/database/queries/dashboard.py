"""Dashboard figures. Every count and grouping runs in SQL; Python only zero-fills.

Each function takes the request's `now` (naive UTC), so the figures of one request (and
of the summary, which runs them all) agree on what "today" and "the last N days" mean.
Each figure is a statement (`*_select`) and a shaping of its rows (`*_from`): the figure's
own endpoint runs the statement alone, `summary()` combines the statements into three.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Mapping
from datetime import date, datetime, timedelta
from functools import cache
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

Row = dict[str, Any]
# What a figure's statement compares timestamps with (see `moments`): datetimes, or bound
# parameters of the same names in a statement built once and reused.
Moments = Mapping[str, Any]


def day_start(now: datetime) -> datetime:
    """Midnight UTC of `now`'s day."""
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def day_bucket(backend: str, column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """The UTC calendar day of a timestamp column, grouped on in SQL."""
    if backend == "sqlite":
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


def moments(now: datetime, *, days: int = DEFAULT_DAYS) -> Moments:
    """The instants the figures of one request compare timestamps with, from its `now`;
    `recent` is `days` x 24 h back (the by-category and by-source window)."""
    today = day_start(now)
    return {
        "now": now,
        "today": today,
        "tomorrow": today + timedelta(days=1),
        "week_first": today - timedelta(days=WEEK_DAYS - 1),
        "upcoming_end": now + timedelta(days=UPCOMING_DAYS),
        "active_since": now - timedelta(days=ACTIVE_DAYS),
        "recent": now - timedelta(days=days),
    }


# -- the figures that are one row of aggregates --------------------------------------------
# Each `*_select(at)` takes the request's moments, or bound parameters in their place.


def news_today_select(at: Moments) -> sa.Select:
    return (
        sa.select(sa.func.count().label("count"))
        .select_from(news)
        .where(news.c.published_at >= at["today"], news.c.published_at < at["tomorrow"])
    )


def count_from(row: Row) -> dict[str, int]:
    return {"count": int(row["count"] or 0)}


async def news_today(db: Database, *, now: datetime) -> dict[str, int]:
    return count_from(await _one_row(db, news_today_select(moments(now))))


def events_upcoming_select(at: Moments) -> sa.Select:
    """Events starting from now until the same time seven days later."""
    return (
        sa.select(sa.func.count().label("count"))
        .select_from(events)
        .where(events.c.starts_at >= at["now"], events.c.starts_at < at["upcoming_end"])
    )


async def events_upcoming(db: Database, *, now: datetime) -> dict[str, int]:
    return count_from(await _one_row(db, events_upcoming_select(moments(now))))


def user_figures_select(at: Moments) -> sa.Select:
    return sa.select(
        sa.func.count().label("total"),
        count_where(users.c.created_at >= at["today"]).label("new_today"),
        count_where(users.c.last_seen_at >= at["active_since"]).label("active_7d"),
        count_where(users.c.is_blocked.is_(True)).label("blocked"),
    ).select_from(users)


def user_figures_from(row: Row) -> dict[str, int]:
    return {key: int(row[key]) for key in ("total", "new_today", "active_7d", "blocked")}


async def user_figures(db: Database, *, now: datetime) -> dict[str, int]:
    return user_figures_from(await _one_row(db, user_figures_select(moments(now))))


def digest_figures_select(at: Moments) -> sa.Select:
    return sa.select(
        sa.func.count().label("total"),
        count_where(digests.c.created_at >= at["today"]).label("today"),
        sa.func.coalesce(sa.func.sum(digests.c.duration_ms), 0).label("duration_ms"),
    ).select_from(digests)


def digest_figures_from(row: Row) -> dict[str, Any]:
    """`avg_duration_ms` to one decimal over every digest; null when there are none."""
    total = int(row["total"])
    # Sum and count come from SQL and are divided here, so both backends round alike
    # (PostgreSQL's AVG is NUMERIC, SQLite's a float).
    average = round(int(row["duration_ms"]) / total, 1) if total else None
    return {"total": total, "today": int(row["today"]), "avg_duration_ms": average}


async def digest_figures(db: Database, *, now: datetime) -> dict[str, Any]:
    return digest_figures_from(await _one_row(db, digest_figures_select(moments(now))))


async def _one_row(db: Database, statement: sa.Select) -> Row:
    row = await db.fetch_one(statement)
    assert row is not None  # an aggregate without GROUP BY always has one row
    return row


# -- the figures that are counts by a key ----------------------------------------------------


def news_week_select(backend: str, at: Moments) -> sa.Select:
    """News per day (`key`) of today and the six days before."""
    bucket = day_bucket(backend, news.c.published_at)
    return (
        sa.select(bucket.label("key"), sa.func.count().label("count"))
        .where(news.c.published_at >= at["week_first"], news.c.published_at < at["tomorrow"])
        .group_by(bucket)
    )


def news_week_from(rows: list[Row], now: datetime) -> dict[str, list[dict[str, Any]]]:
    """Today and the six days before, oldest first, days without news as 0."""
    first = day_start(now) - timedelta(days=WEEK_DAYS - 1)
    counts = {day_text(row["key"]): int(row["count"]) for row in rows}
    days = [(first + timedelta(days=i)).date().isoformat() for i in range(WEEK_DAYS)]
    return {"days": [{"date": day, "count": counts.get(day, 0)} for day in days]}


async def news_week(db: Database, *, now: datetime) -> dict[str, list[dict[str, Any]]]:
    rows = await db.fetch_all(news_week_select(db.backend, moments(now)))
    return news_week_from(rows, now)


def news_by_category_select(at: Moments) -> sa.Select:
    """News published since `recent` per category (`key`)."""
    return (
        sa.select(news.c.category.label("key"), sa.func.count().label("count"))
        .where(news.c.published_at >= at["recent"])
        .group_by(news.c.category)
    )


def news_by_category_from(rows: list[Row]) -> dict[str, dict[str, int]]:
    """Every category listed, in the fixed order."""
    counts = {row["key"]: int(row["count"]) for row in rows}
    return {"categories": _zero_filled(CATEGORIES, counts)}


async def news_by_category(
    db: Database, *, now: datetime, days: int = DEFAULT_DAYS
) -> dict[str, dict[str, int]]:
    rows = await db.fetch_all(news_by_category_select(moments(now, days=days)))
    return news_by_category_from(rows)


def news_by_source_select(at: Moments) -> sa.Select:
    """News published since `recent` per source name (`key`), every source, unordered;
    `position` is the source's id, which breaks ties in the order."""
    joined = sources.outerjoin(
        news, sa.and_(news.c.source_id == sources.c.id, news.c.published_at >= at["recent"])
    )
    return (
        sa.select(
            sources.c.name.label("key"),
            sa.func.count(news.c.id).label("count"),
            sources.c.id.label("position"),
        )
        .select_from(joined)
        .group_by(sources.c.id, sources.c.name)
    )


def news_by_source_from(rows: list[Row]) -> dict[str, dict[str, int]]:
    """`rows` in the order of the answer: busiest first, then by id."""
    return {"sources": {row["key"]: int(row["count"]) for row in rows}}


async def news_by_source(
    db: Database, *, now: datetime, days: int = DEFAULT_DAYS
) -> dict[str, dict[str, int]]:
    statement = news_by_source_select(moments(now, days=days))
    columns = statement.selected_columns
    rows = await db.fetch_all(statement.order_by(columns["count"].desc(), columns["position"]))
    return news_by_source_from(rows)


def subscriptions_select() -> sa.Select:
    """Subscriptions per category (`key`)."""
    return sa.select(
        subscriptions_table.c.category.label("key"), sa.func.count().label("count")
    ).group_by(subscriptions_table.c.category)


def subscriptions_from(rows: list[Row]) -> dict[str, Any]:
    counts = {row["key"]: int(row["count"]) for row in rows}
    return {"total": sum(counts.values()), "by_category": _zero_filled(CATEGORIES, counts)}


async def subscription_figures(db: Database) -> dict[str, Any]:
    return subscriptions_from(await db.fetch_all(subscriptions_select()))


# -- the activity list -----------------------------------------------------------------------


def activity_item(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["name"],
        "user_id": row["user_id"],
        "props": json_object(row["props"]),
        "created_at": iso(row["created_at"]),
    }


def activity_total_select() -> sa.Select:
    return sa.select(sa.func.count().label("total")).select_from(analytics_events)


async def activity_total(db: Database) -> int:
    return int((await _one_row(db, activity_total_select()))["total"])


def activity_events_select(*, limit: int, offset: int) -> sa.Select:
    return (
        sa.select(analytics_events)
        .order_by(analytics_events.c.created_at.desc(), analytics_events.c.id.desc())
        .limit(limit)
        .offset(offset)
    )


async def activity_events(db: Database, *, limit: int, offset: int) -> list[dict[str, Any]]:
    rows = await db.fetch_all(activity_events_select(limit=limit, offset=offset))
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
) -> dict[str, Callable[[], Coroutine[Any, Any, dict[str, Any]]]]:
    """The summary's figures by key (named after their endpoints), with their defaults.

    Each value starts one independent query when called: the legacy half runs them one
    after the other; `summary()` builds the same object from three statements.
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


async def summary(db: Database, *, now: datetime) -> dict[str, Any]:
    """What `summary_parts` builds, from three statements run at once, each on a pooled
    connection of its own: the one-row figures side by side, the counts by key stacked,
    and the newest activity. Three round trips instead of ten, in the time of the slowest
    of the three; the statements are built once, and only the moments change."""
    side_statement, stacked_statement, newest_statement = summary_statements(db.backend)
    at = moments(now)
    side, stacked, newest = await asyncio.gather(
        _one_row(db, side_statement.params(at)),
        db.fetch_all(stacked_statement.params(at)),
        db.fetch_all(newest_statement),
    )
    by_key: dict[str, list[Row]] = {}
    for row in stacked:
        by_key.setdefault(row["figure"], []).append(row)
    items = [activity_item(row) for row in newest]
    return {
        "news_today": count_from(_columns_of(side, "news_today")),
        "news_week": news_week_from(by_key.get("news_week", []), now),
        "news_by_category": news_by_category_from(by_key.get("news_by_category", [])),
        "news_by_source": news_by_source_from(by_key.get("news_by_source", [])),
        "events_upcoming": count_from(_columns_of(side, "events_upcoming")),
        "users": user_figures_from(_columns_of(side, "users")),
        "subscriptions": subscriptions_from(by_key.get("subscriptions", [])),
        "digests": digest_figures_from(_columns_of(side, "digests")),
        "activity": page(
            items, total=int(side["activity__total"]), limit=DEFAULT_ACTIVITY_LIMIT, offset=0
        ),
    }


@cache
def summary_statements(backend: str) -> tuple[sa.Select, sa.CompoundSelect, sa.Select]:
    """The summary's three statements, with the moments as bound parameters: building and
    keying a statement of this size costs more CPU than running it, so it is done once."""
    names = moments(datetime(2000, 1, 1))  # any date: only the names are used
    at = {name: sa.bindparam(name, type_=sa.DateTime) for name in names}
    side = side_by_side(
        news_today=news_today_select(at),
        events_upcoming=events_upcoming_select(at),
        users=user_figures_select(at),
        digests=digest_figures_select(at),
        activity=activity_total_select(),
    )
    stacked = stacked_counts(
        news_week=news_week_select(backend, at),
        news_by_category=news_by_category_select(at),
        news_by_source=news_by_source_select(at),
        subscriptions=subscriptions_select(),
    )
    return side, stacked, activity_events_select(limit=DEFAULT_ACTIVITY_LIMIT, offset=0)


def side_by_side(**figures: sa.Select) -> sa.Select:
    """One-row aggregate selects as one statement, a cross join of one-row tables; the
    columns are named `<figure>__<column>`."""
    tables = [statement.subquery(f"{name}_figures") for name, statement in figures.items()]
    joined: sa.FromClause = tables[0]
    for table in tables[1:]:
        joined = joined.join(table, sa.true())
    columns = [
        column.label(f"{name}__{column.key}")
        for name, table in zip(figures, tables, strict=True)
        for column in table.c
    ]
    return sa.select(*columns).select_from(joined)


def _columns_of(row: Row, figure: str) -> Row:
    prefix = f"{figure}__"
    return {key.removeprefix(prefix): value for key, value in row.items() if key.startswith(prefix)}


def stacked_counts(**figures: sa.Select) -> sa.CompoundSelect:
    """Counts by key of several figures as one list of `figure, key, count, position` rows
    (UNION ALL), each figure's rows busiest first, then by `position` where it has one."""
    parts = []
    for name, statement in figures.items():
        table = statement.subquery()
        position = table.c["position"] if "position" in table.c else sa.literal(0)
        parts.append(
            sa.select(
                sa.literal(name, sa.String).label("figure"),
                sa.cast(table.c["key"], sa.String).label("key"),
                table.c["count"].label("count"),
                position.label("position"),
            )
        )
    return sa.union_all(*parts).order_by(
        sa.column("figure"), sa.column("count").desc(), sa.column("position")
    )
