"""User queries."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from shared.database.engine import Database, Transaction
from shared.database.rows import iso, utcnow
from shared.database.schema import bookmarks, digests, subscriptions, users
from shared.database.upsert import insert


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


# Every user-scoped read starts with one of these: built once, with bound parameters.
_BY_ID = sa.select(users).where(users.c.id == sa.bindparam("user_id", type_=sa.BigInteger))
_BY_TELEGRAM_ID = sa.select(users).where(
    users.c.telegram_id == sa.bindparam("telegram_id", type_=sa.BigInteger)
)


async def user_by_id(db: Database, *, user_id: int) -> dict[str, Any] | None:
    return await db.fetch_one(_BY_ID, {"user_id": user_id})


async def user_by_telegram_id(db: Database, *, telegram_id: int) -> dict[str, Any] | None:
    return await db.fetch_one(_BY_TELEGRAM_ID, {"telegram_id": telegram_id})


async def get_or_create_user(
    db: Database, *, telegram_id: int, username: str | None, language: str | None = None
) -> tuple[dict[str, Any], bool]:
    """The user with this Telegram id, created if new; `(user_row, created)`.

    Race-free: concurrent calls for one new Telegram id create one row, and every call
    gets it. A known user's visit (and new username) is recorded first, so the common case
    is one UPDATE and no id is spent on PostgreSQL; only a first visit inserts, with
    ON CONFLICT DO NOTHING, and whoever loses that race records a visit instead.
    """
    now = utcnow()
    async with db.transaction() as tx:
        seen = await _record_visit(tx, telegram_id=telegram_id, username=username, now=now)
        if seen is not None:
            return seen, False
        created = await tx.fetch_one(
            insert(db, users)
            .values(
                telegram_id=telegram_id,
                username=username,
                language=language or "en",
                is_blocked=False,
                created_at=now,
                last_seen_at=now,
            )
            .on_conflict_do_nothing(index_elements=[users.c.telegram_id])
            .returning(*users.c)
        )
        if created is not None:
            return created, True
        # Lost the race: the winner's row is committed (or we waited for it), so it is seen.
        seen = await _record_visit(tx, telegram_id=telegram_id, username=username, now=now)
    if seen is None:  # only if the row were deleted meanwhile, and users are never deleted
        raise RuntimeError(f"user with telegram_id {telegram_id} vanished during sign-up")
    return seen, False


async def _record_visit(
    tx: Transaction, *, telegram_id: int, username: str | None, now: datetime
) -> dict[str, Any] | None:
    """Stamp a known user's visit (and a new username); their row, or None if unknown."""
    changes: dict[str, Any] = {"last_seen_at": now}
    if username:
        changes["username"] = username
    return await tx.fetch_one(
        users.update().where(users.c.telegram_id == telegram_id).values(changes).returning(*users.c)
    )


async def activity_counts(db: Database, *, user_id: int) -> dict[str, int]:
    """What a profile shows: three counts, each in SQL, run concurrently."""

    def count(table: sa.Table) -> sa.Select:
        return sa.select(sa.func.count()).select_from(table).where(table.c.user_id == user_id)

    counts = await asyncio.gather(
        db.scalar(count(subscriptions)), db.scalar(count(bookmarks)), db.scalar(count(digests))
    )
    names = ("subscriptions_count", "bookmarks_count", "digests_count")
    return {name: int(value or 0) for name, value in zip(names, counts, strict=True)}
