"""Admin queries: counts, users, sources, news written by hand or by feeds, recipients.

Every write runs in one transaction together with its audit-log row.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from shared.database.engine import Database, Transaction
from shared.database.queries.audit import record_audit
from shared.database.queries.news import news_item, news_select
from shared.database.queries.users import user_item
from shared.database.rows import iso, json_object, utcnow
from shared.database.schema import (
    analytics_events,
    digests,
    events,
    news,
    sources,
    subscriptions,
    users,
)
from shared.errors import ApiError, not_found

# Rows per multi-row INSERT / IN (...) list: well under both backends' parameter limits.
_CHUNK = 200


# --- counts -------------------------------------------------------------------------------


async def _count(db: Database, table: sa.Table) -> int:
    return int(await db.scalar(sa.select(sa.func.count()).select_from(table)) or 0)


_COUNTED = {
    "news": news,
    "events": events,
    "users": users,
    "sources": sources,
    "digests": digests,
}


async def admin_counts(db: Database) -> dict[str, int]:
    """Row counts of the main tables, each on its own pooled connection, concurrently."""
    counts = await asyncio.gather(*(_count(db, table) for table in _COUNTED.values()))
    return dict(zip(_COUNTED, counts, strict=True))


# --- users --------------------------------------------------------------------------------

_SUBSCRIPTIONS_COUNT = (
    sa.select(sa.func.count())
    .where(subscriptions.c.user_id == users.c.id)
    .correlate(users)
    .scalar_subquery()
    .label("subscriptions_count")
)


def _user_filter(q: str | None) -> sa.ColumnElement[bool]:
    if not q:
        return sa.true()
    return sa.func.lower(users.c.username).contains(q.lower(), autoescape=True)


async def search_users(
    db: Database, *, q: str | None, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    condition = _user_filter(q)
    total, rows = await asyncio.gather(
        db.scalar(sa.select(sa.func.count()).select_from(users).where(condition)),
        db.fetch_all(
            sa.select(users, _SUBSCRIPTIONS_COUNT)
            .where(condition)
            .order_by(users.c.id)
            .limit(limit)
            .offset(offset)
        ),
    )
    items = [
        {**user_item(row), "subscriptions_count": int(row["subscriptions_count"])} for row in rows
    ]
    return items, int(total or 0)


async def user_detail(db: Database, *, user_id: int) -> dict[str, Any] | None:
    """The user, their subscriptions and their latest analytics event (or None)."""
    row, subs, last = await asyncio.gather(
        db.fetch_one(sa.select(users).where(users.c.id == user_id)),
        db.fetch_all(
            sa.select(subscriptions.c.category, subscriptions.c.created_at)
            .where(subscriptions.c.user_id == user_id)
            .order_by(subscriptions.c.created_at, subscriptions.c.id)
        ),
        db.fetch_one(
            sa.select(
                analytics_events.c.name, analytics_events.c.props, analytics_events.c.created_at
            )
            .where(analytics_events.c.user_id == user_id)
            .order_by(analytics_events.c.created_at.desc(), analytics_events.c.id.desc())
            .limit(1)
        ),
    )
    if row is None:
        return None
    return {
        **user_item(row),
        "subscriptions": [
            {"category": sub["category"], "created_at": iso(sub["created_at"])} for sub in subs
        ],
        "last_activity": None
        if last is None
        else {
            "name": last["name"],
            "props": json_object(last["props"]),
            "created_at": iso(last["created_at"]),
        },
    }


async def set_user_blocked(
    db: Database, *, actor: str, user_id: int, blocked: bool, reason: str | None
) -> dict[str, Any]:
    async with db.transaction() as tx:
        row = await tx.fetch_one(sa.select(users).where(users.c.id == user_id))
        if row is None:
            raise not_found("user")
        await tx.execute(users.update().where(users.c.id == user_id).values(is_blocked=blocked))
        details: dict[str, Any] = {"blocked": blocked}
        if reason:
            details["reason"] = reason
        await record_audit(
            tx,
            actor=actor,
            action="user.block" if blocked else "user.unblock",
            target=f"users:{user_id}",
            details=details,
        )
        return user_item({**row, "is_blocked": blocked})


@contextmanager
def _conflict_on_race(message: str) -> Iterator[None]:
    """The duplicate checks run first; a concurrent write of the same value still ends in
    the unique constraint, and is the same 409."""
    try:
        yield
    except IntegrityError:
        raise ApiError("conflict", message) from None


# --- sources ------------------------------------------------------------------------------


def source_item(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["name"],
        "url": row["url"],
        "category": row["category"],
        "enabled": bool(row["enabled"]),
        "last_fetched_at": iso(row["last_fetched_at"]),
        "last_error": row["last_error"],
    }


async def all_sources(db: Database) -> list[dict[str, Any]]:
    rows = await db.fetch_all(sa.select(sources).order_by(sources.c.id))
    return [source_item(row) for row in rows]


async def enabled_sources(db: Database) -> list[dict[str, Any]]:
    rows = await db.fetch_all(
        sa.select(sources).where(sources.c.enabled.is_(True)).order_by(sources.c.id)
    )
    return [source_item(row) for row in rows]


async def source_by_id(db: Database, *, source_id: int) -> dict[str, Any] | None:
    row = await db.fetch_one(sa.select(sources).where(sources.c.id == source_id))
    return source_item(row) if row else None


async def _refuse_duplicate_source(
    tx: Transaction, *, values: dict[str, Any], source_id: int | None = None
) -> None:
    """409 naming the field when another source already has this url or name."""
    for field in ("url", "name"):
        if field not in values:
            continue
        query = sa.select(sources.c.id).where(sources.c[field] == values[field])
        if source_id is not None:
            query = query.where(sources.c.id != source_id)
        if await tx.scalar(query) is not None:
            raise ApiError("conflict", f"a source with this {field} already exists", field=field)


async def create_source(db: Database, *, actor: str, values: dict[str, Any]) -> dict[str, Any]:
    with _conflict_on_race("a source with this name or url already exists"):
        return await _create_source(db, actor=actor, values=values)


async def _create_source(db: Database, *, actor: str, values: dict[str, Any]) -> dict[str, Any]:
    async with db.transaction() as tx:
        await _refuse_duplicate_source(tx, values=values)
        row = {**values, "last_fetched_at": None, "last_error": None, "created_at": utcnow()}
        result = await tx.execute(sources.insert().values(row).returning(sources.c.id))
        source_id = result.scalar_one()
        await record_audit(
            tx, actor=actor, action="source.create", target=f"sources:{source_id}", details=values
        )
        return source_item({"id": source_id, **row})


async def update_source(
    db: Database, *, actor: str, source_id: int, changes: dict[str, Any]
) -> dict[str, Any]:
    with _conflict_on_race("a source with this name or url already exists"):
        return await _update_source(db, actor=actor, source_id=source_id, changes=changes)


async def _update_source(
    db: Database, *, actor: str, source_id: int, changes: dict[str, Any]
) -> dict[str, Any]:
    async with db.transaction() as tx:
        row = await tx.fetch_one(sa.select(sources).where(sources.c.id == source_id))
        if row is None:
            raise not_found("source")
        if changes:
            await _refuse_duplicate_source(tx, values=changes, source_id=source_id)
            await tx.execute(sources.update().where(sources.c.id == source_id).values(changes))
            await record_audit(
                tx,
                actor=actor,
                action="source.update",
                target=f"sources:{source_id}",
                details=changes,
            )
        return source_item({**row, **changes})


async def delete_source(db: Database, *, actor: str, source_id: int) -> None:
    """Its news stay, without a source (the foreign key is ON DELETE SET NULL)."""
    async with db.transaction() as tx:
        row = await tx.fetch_one(sa.select(sources).where(sources.c.id == source_id))
        if row is None:
            raise not_found("source")
        await tx.execute(sources.delete().where(sources.c.id == source_id))
        await record_audit(
            tx,
            actor=actor,
            action="source.delete",
            target=f"sources:{source_id}",
            details={"name": row["name"], "url": row["url"]},
        )


# --- news ---------------------------------------------------------------------------------


def _insert_ignoring_known_links(db: Database) -> Any:
    dialect = sqlite if db.backend == "sqlite" else postgresql
    return dialect.insert(news).on_conflict_do_nothing(index_elements=[news.c.link])


async def _known_links(tx: Transaction, links: Sequence[str]) -> set[str]:
    known: set[str] = set()
    for start in range(0, len(links), _CHUNK):
        chunk = list(links[start : start + _CHUNK])
        rows = await tx.fetch_all(sa.select(news.c.link).where(news.c.link.in_(chunk)))
        known.update(row["link"] for row in rows)
    return known


async def insert_new_items(
    tx: Transaction, *, source_id: int | None, category: str, items: Sequence[dict[str, Any]]
) -> int:
    """Store the items whose link is not in `news` yet; how many were stored.

    Known links are looked up first (so re-fetching a feed burns no PostgreSQL sequence
    values), and the insert still ignores a link stored meanwhile by a concurrent fetch.
    """
    fresh: dict[str, dict[str, Any]] = {}
    for item in items:
        fresh.setdefault(item["link"], item)
    for link in await _known_links(tx, list(fresh)):
        del fresh[link]
    # Oldest first, so ids grow with publication time as they do for the demo data.
    rows = sorted(fresh.values(), key=lambda item: (item["published_at"], item["link"]))
    now = utcnow()
    values = [
        {
            "title": item["title"],
            "summary": item["summary"],
            "link": item["link"],
            "source_id": source_id,
            "category": category,
            "subcategory": item["subcategory"],
            "importance": item.get("importance", 0.5),
            "published_at": item["published_at"],
            "created_at": now,
        }
        for item in rows
    ]
    inserted = 0
    for start in range(0, len(values), _CHUNK):
        statement = (
            _insert_ignoring_known_links(tx.db)
            .values(values[start : start + _CHUNK])
            .returning(news.c.id)
        )
        inserted += len((await tx.execute(statement)).all())
    return inserted


async def record_feed_fetch(
    db: Database,
    *,
    actor: str,
    source_id: int,
    items: Sequence[dict[str, Any]],
    error: str | None,
    fetched_at: datetime,
    trigger: str,
    run: str | None = None,
) -> int | None:
    """Store a fetch's items and outcome on the source; the number inserted, or None when
    the source was deleted meanwhile. A fetch of an ingest `run` is logged with the run's
    id and the source's name: its audit rows are the run's progress (shared/ingest.py)."""
    async with db.transaction() as tx:
        row = await tx.fetch_one(sa.select(sources).where(sources.c.id == source_id))
        if row is None:
            return None
        inserted = await insert_new_items(
            tx, source_id=source_id, category=row["category"], items=items
        )
        await tx.execute(
            sources.update()
            .where(sources.c.id == source_id)
            .values(last_fetched_at=fetched_at, last_error=error)
        )
        await record_audit(
            tx,
            actor=actor,
            action="source.fetch",
            target=f"sources:{source_id}",
            details={"fetched": len(items), "inserted": inserted, "error": error, "via": trigger}
            | ({"run": run, "name": row["name"]} if run is not None else {}),
        )
        return inserted


async def create_news(db: Database, *, actor: str, values: dict[str, Any]) -> dict[str, Any]:
    """`values` are the news columns; `published_at` defaults to now."""
    values = {**values, "published_at": values.get("published_at") or utcnow()}
    with _conflict_on_race("a news item with this link already exists"):
        return await _create_news(db, actor=actor, values=values)


async def _create_news(db: Database, *, actor: str, values: dict[str, Any]) -> dict[str, Any]:
    async with db.transaction() as tx:
        source_id = values.get("source_id")
        if source_id is not None:
            exists = await tx.scalar(sa.select(sources.c.id).where(sources.c.id == source_id))
            if exists is None:
                raise not_found("source")
        known = await tx.scalar(sa.select(news.c.id).where(news.c.link == values["link"]))
        if known is not None:
            raise ApiError("conflict", "a news item with this link already exists", field="link")
        result = await tx.execute(
            news.insert().values(**values, created_at=utcnow()).returning(news.c.id)
        )
        news_id = result.scalar_one()
        await record_audit(
            tx,
            actor=actor,
            action="news.create",
            target=f"news:{news_id}",
            details={"title": values["title"], "link": values["link"]},
        )
        row = await tx.fetch_one(news_select().where(news.c.id == news_id))
        assert row is not None
        return news_item(row)


async def delete_news(db: Database, *, actor: str, news_id: int) -> None:
    async with db.transaction() as tx:
        row = await tx.fetch_one(sa.select(news.c.title, news.c.link).where(news.c.id == news_id))
        if row is None:
            raise not_found("news item")
        await tx.execute(news.delete().where(news.c.id == news_id))
        await record_audit(
            tx, actor=actor, action="news.delete", target=f"news:{news_id}", details=dict(row)
        )


# --- digest broadcast ---------------------------------------------------------------------


async def broadcast_recipients(db: Database, *, category: str | None) -> list[dict[str, Any]]:
    """Users who are not blocked and subscribe to `category` (to anything, without one)."""
    subscribed = sa.select(subscriptions.c.id).where(subscriptions.c.user_id == users.c.id)
    if category is not None:
        subscribed = subscribed.where(subscriptions.c.category == category)
    rows = await db.fetch_all(
        sa.select(users.c.id, users.c.telegram_id)
        .where(users.c.is_blocked.is_(False), subscribed.exists())
        .order_by(users.c.id)
    )
    return [{"id": row["id"], "telegram_id": row["telegram_id"]} for row in rows]
