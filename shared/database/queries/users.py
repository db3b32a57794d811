"""User queries."""

from __future__ import annotations

import asyncio
from typing import Any

import sqlalchemy as sa

from shared.database.engine import Database
from shared.database.rows import iso, utcnow
from shared.database.schema import bookmarks, digests, subscriptions, users


def user_item(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "telegram_id": row["telegram_id"],
        "username": row["username"],
        "language": row["language"],
        "is_blocked": bool(row["is_blocked"]),
        "created_at": iso(row["created_at"]),
        "last_seen_at": iso(row["last_seen_at"]),
    }


async def user_by_id(db: Database, *, user_id: int) -> dict[str, Any] | None:
    return await db.fetch_one(sa.select(users).where(users.c.id == user_id))


async def user_by_telegram_id(db: Database, *, telegram_id: int) -> dict[str, Any] | None:
    return await db.fetch_one(sa.select(users).where(users.c.telegram_id == telegram_id))


async def get_or_create_user(
    db: Database, *, telegram_id: int, username: str | None, language: str | None = None
) -> tuple[dict[str, Any], bool]:
    """The user with this Telegram id, created if new; `(user_row, created)`."""
    now = utcnow()
    async with db.transaction() as tx:
        existing = await tx.fetch_one(sa.select(users).where(users.c.telegram_id == telegram_id))
        if existing is not None:
            changes: dict[str, Any] = {"last_seen_at": now}
            if username and username != existing["username"]:
                changes["username"] = username
            await tx.execute(users.update().where(users.c.id == existing["id"]).values(changes))
            return {**existing, **changes}, False
        values = {
            "telegram_id": telegram_id,
            "username": username,
            "language": language or "en",
            "is_blocked": False,
            "created_at": now,
            "last_seen_at": now,
        }
        result = await tx.execute(users.insert().values(values).returning(users.c.id))
        return {"id": result.scalar_one(), **values}, True


async def activity_counts(db: Database, *, user_id: int) -> dict[str, int]:
    """What a profile shows: three counts, each in SQL, run concurrently."""

    def count(table: sa.Table) -> sa.Select:
        return sa.select(sa.func.count()).select_from(table).where(table.c.user_id == user_id)

    counts = await asyncio.gather(
        db.scalar(count(subscriptions)), db.scalar(count(bookmarks)), db.scalar(count(digests))
    )
    names = ("subscriptions_count", "bookmarks_count", "digests_count")
    return {name: int(value or 0) for name, value in zip(names, counts, strict=True)}
