"""Category subscription queries."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from shared.database.engine import Database
from shared.database.rows import iso, utcnow
from shared.database.schema import subscriptions
from shared.database.upsert import insert

_OF_USER = (
    sa.select(subscriptions.c.category, subscriptions.c.created_at)
    .where(subscriptions.c.user_id == sa.bindparam("user_id", type_=sa.BigInteger))
    .order_by(subscriptions.c.created_at, subscriptions.c.id)
)


async def list_subscriptions(db: Database, *, user_id: int) -> list[dict[str, Any]]:
    rows = await db.fetch_all(_OF_USER, {"user_id": user_id})
    return [{"category": row["category"], "created_at": iso(row["created_at"])} for row in rows]


async def subscribe(db: Database, *, user_id: int, category: str) -> None:
    """Idempotent and race-free: subscribing twice, even at once, leaves one row."""
    async with db.transaction() as tx:
        await tx.execute(
            insert(db, subscriptions)
            .values(user_id=user_id, category=category, created_at=utcnow())
            .on_conflict_do_nothing(
                index_elements=[subscriptions.c.user_id, subscriptions.c.category]
            )
        )


async def unsubscribe(db: Database, *, user_id: int, category: str) -> bool:
    """True when there was a subscription to remove (of concurrent calls, exactly one)."""
    async with db.transaction() as tx:
        result = await tx.execute(
            subscriptions.delete().where(
                subscriptions.c.user_id == user_id, subscriptions.c.category == category
            )
        )
        return bool(result.rowcount)
