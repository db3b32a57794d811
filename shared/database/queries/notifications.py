"""A user's notifications, newest first."""

from __future__ import annotations

import asyncio
from typing import Any

import sqlalchemy as sa

from shared.database.engine import Database
from shared.database.rows import iso
from shared.database.schema import notifications


def notification_item(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "title": row["title"],
        "body": row["body"],
        "is_read": bool(row["is_read"]),
        "created_at": iso(row["created_at"]),
    }


async def notifications_of(
    db: Database, *, user_id: int, unread_only: bool, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """One page of the user's notifications and how many match in all."""
    conditions = [notifications.c.user_id == user_id]
    if unread_only:
        conditions.append(notifications.c.is_read.is_(False))
    rows, total = await asyncio.gather(
        db.fetch_all(
            sa.select(notifications)
            .where(*conditions)
            .order_by(notifications.c.created_at.desc(), notifications.c.id.desc())
            .limit(limit)
            .offset(offset)
        ),
        db.scalar(sa.select(sa.func.count()).select_from(notifications).where(*conditions)),
    )
    return [notification_item(row) for row in rows], int(total or 0)


async def mark_read(db: Database, *, user_id: int, notification_id: int) -> dict[str, Any] | None:
    """The notification, now read; None when the user has no such notification."""
    theirs = sa.and_(notifications.c.id == notification_id, notifications.c.user_id == user_id)
    async with db.transaction() as tx:
        await tx.execute(notifications.update().where(theirs).values(is_read=True))
        row = await tx.fetch_one(sa.select(notifications).where(theirs))
    return notification_item(row) if row else None
