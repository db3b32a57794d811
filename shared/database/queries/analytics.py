"""Analytics event queries: recording, listing, category popularity and funnels."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from shared.categories import CATEGORIES, CATEGORY_TREE, SUBCATEGORIES
from shared.database.engine import Database
from shared.database.rows import iso, json_object, utcnow
from shared.database.schema import analytics_events, bookmarks, news, subscriptions

VIEW_EVENT = "news_view"
# How much one action says about interest in a category (a subscription is a commitment).
SCORE_WEIGHTS = {"subscriptions": 3, "bookmarks": 2, "views": 1}


def event_item(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["name"],
        "user_id": row["user_id"],
        "props": json_object(row["props"]),
        "created_at": iso(row["created_at"]),
    }


async def record_event(
    db: Database, *, name: str, user_id: int | None, props: dict[str, Any]
) -> None:
    await db.execute(
        analytics_events.insert().values(
            name=name, user_id=user_id, props=props, created_at=utcnow()
        )
    )


async def list_events(
    db: Database,
    *,
    name: str | None = None,
    since: datetime | None = None,
    user_id: int | None = None,
    limit: int,
    offset: int,
) -> tuple[list[dict[str, Any]], int]:
    """Newest first; `(page, total)`."""
    conditions = []
    if name is not None:
        conditions.append(analytics_events.c.name == name)
    if since is not None:
        conditions.append(analytics_events.c.created_at >= since)
    if user_id is not None:
        conditions.append(analytics_events.c.user_id == user_id)
    rows, total = await asyncio.gather(
        db.fetch_all(
            sa.select(analytics_events)
            .where(*conditions)
            .order_by(analytics_events.c.created_at.desc(), analytics_events.c.id.desc())
            .limit(limit)
            .offset(offset)
        ),
        db.scalar(sa.select(sa.func.count()).select_from(analytics_events).where(*conditions)),
    )
    return [event_item(row) for row in rows], int(total or 0)


def _viewed_news_id(db: Database) -> sa.ColumnElement[Any]:
    """`props.news_id` when it is a JSON integer, else NULL (never a failing cast).

    Props are free-form client input; PostgreSQL would abort the whole query on a cast of
    `"abc"` to integer, so each backend checks the JSON type first.
    """
    props = analytics_events.c.props
    if db.backend == "postgresql":
        text = props["news_id"].as_string()
        is_integer = sa.and_(
            sa.func.json_typeof(props["news_id"]) == "number",
            text.regexp_match("^[0-9]{1,9}$"),
        )
        return sa.case((is_integer, sa.cast(text, sa.Integer)))
    return sa.case(
        (
            sa.func.json_type(props, "$.news_id") == "integer",
            sa.func.json_extract(props, "$.news_id"),
        )
    )


def _top_category(name: Any) -> str | None:
    if name in CATEGORY_TREE:
        return name
    return SUBCATEGORIES.get(name) if isinstance(name, str) else None


async def popular_categories(db: Database, *, days: int) -> dict[str, Any]:
    """Subscriptions, bookmarks and news views per category over the last `days` days.

    A view counts for the category of the news item it names (`props.news_id`), else for
    `props.category` (a subcategory counts for its category).
    """
    since = utcnow() - timedelta(days=days)
    viewed = (
        sa.select(
            sa.func.coalesce(
                news.c.category, analytics_events.c.props["category"].as_string()
            ).label("category")
        )
        .select_from(analytics_events.outerjoin(news, news.c.id == _viewed_news_id(db)))
        .where(analytics_events.c.name == VIEW_EVENT, analytics_events.c.created_at >= since)
        .subquery()
    )
    count = sa.func.count().label("count")
    subscribed, bookmarked, views = await asyncio.gather(
        db.fetch_all(
            sa.select(subscriptions.c.category, count)
            .where(subscriptions.c.created_at >= since)
            .group_by(subscriptions.c.category)
        ),
        db.fetch_all(
            sa.select(news.c.category, count)
            .select_from(bookmarks.join(news, news.c.id == bookmarks.c.news_id))
            .where(bookmarks.c.created_at >= since)
            .group_by(news.c.category)
        ),
        db.fetch_all(sa.select(viewed.c.category, count).group_by(viewed.c.category)),
    )
    totals = {name: dict.fromkeys(SCORE_WEIGHTS, 0) for name in CATEGORIES}
    for measure, rows in (
        ("subscriptions", subscribed),
        ("bookmarks", bookmarked),
        ("views", views),
    ):
        for row in rows:
            category = _top_category(row["category"])
            if category is not None:
                totals[category][measure] += int(row["count"])
    items: list[dict[str, Any]] = [
        {
            "name": name,
            **counts,
            "score": sum(SCORE_WEIGHTS[measure] * n for measure, n in counts.items()),
        }
        for name, counts in totals.items()
    ]
    items.sort(key=lambda item: (-item["score"], item["name"]))
    return {"categories": items, "days": days}


async def funnel(db: Database, *, steps: list[str], days: int) -> dict[str, Any]:
    """Users reaching each step in order within the last `days` days.

    A user reaches step k when they have events for steps 1..k with non-decreasing
    timestamps. Taking, step by step, each user's earliest qualifying event decides that
    exactly, so it runs as one chain of CTEs. Anonymous events take no part.
    """
    events = analytics_events
    since = utcnow() - timedelta(days=days)
    reached: list[sa.CTE] = []
    for index, step in enumerate(steps):
        source: sa.FromClause = events
        conditions = [events.c.name == step, events.c.user_id.is_not(None)]
        conditions.append(events.c.created_at >= since)
        if reached:
            previous = reached[-1]
            source = events.join(previous, previous.c.user_id == events.c.user_id)
            conditions.append(events.c.created_at >= previous.c.reached_at)
        reached.append(
            sa.select(events.c.user_id, sa.func.min(events.c.created_at).label("reached_at"))
            .select_from(source)
            .where(*conditions)
            .group_by(events.c.user_id)
            .cte(f"step_{index + 1}")
        )
    counts = await db.fetch_one(
        sa.select(
            *(
                sa.select(sa.func.count()).select_from(cte).scalar_subquery().label(cte.name)
                for cte in reached
            )
        )
    )
    assert counts is not None
    return {
        "steps": [
            {"name": step, "users": int(counts[cte.name])}
            for step, cte in zip(steps, reached, strict=True)
        ],
        "days": days,
    }
