"""Digest queries."""

from __future__ import annotations

import asyncio
from typing import Any

import sqlalchemy as sa

from shared.database.engine import Database
from shared.database.rows import iso, utcnow
from shared.database.schema import digests


def digest_item(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "text": row["text"],
        "model": row["model"],
        "news_ids": list(row["news_ids"]),
        "params": dict(row["params"]),
        "created_at": iso(row["created_at"]),
    }


async def store_digest(
    db: Database,
    *,
    user_id: int | None,
    text: str,
    model: str,
    news_ids: list[int],
    params: dict[str, Any],
    duration_ms: int,
) -> dict[str, Any]:
    values = {
        "user_id": user_id,
        "text": text,
        "model": model,
        "news_ids": news_ids,
        "params": params,
        "duration_ms": duration_ms,
        "created_at": utcnow(),
    }
    async with db.transaction() as tx:
        result = await tx.execute(digests.insert().values(values).returning(digests.c.id))
        return digest_item({"id": result.scalar_one(), **values})


async def digest_by_id(db: Database, *, digest_id: int) -> dict[str, Any] | None:
    row = await db.fetch_one(sa.select(digests).where(digests.c.id == digest_id))
    return digest_item(row) if row else None


async def digests_of_user(
    db: Database, *, user_id: int, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """One page of a user's digests, newest first, and how many there are in all."""
    mine = digests.c.user_id == user_id
    rows, total = await asyncio.gather(
        db.fetch_all(
            sa.select(digests)
            .where(mine)
            .order_by(digests.c.created_at.desc(), digests.c.id.desc())
            .limit(limit)
            .offset(offset)
        ),
        db.scalar(sa.select(sa.func.count()).select_from(digests).where(mine)),
    )
    return [digest_item(row) for row in rows], int(total or 0)
