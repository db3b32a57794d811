"""Digest queries."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from shared.database.engine import Database
from shared.database.rows import iso, json_list, utcnow
from shared.database.schema import MAX_DIGEST_ID, digest_jobs, digests
from shared.digest_params import stored_params

# A clash among 2**53 ids is rare enough that one needing more tries is a bug, not luck.
_ID_ATTEMPTS = 5


class JobFinishedElsewhere(Exception):
    """The digest job this digest was for is done or failed already (another worker ran it
    after this one was thought stalled): the digest is not kept."""


def digest_item(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "text": row["text"],
        "model": row["model"],
        "news_ids": json_list(row["news_ids"]),
        "params": stored_params(row["params"]),
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
    job_id: str | None = None,
) -> dict[str, Any]:
    """Store a digest under a new random id (ids must not tell how many digests exist).

    For a digest job (`job_id`), the job turns `done` in the same transaction: a worker
    killed after storing leaves no digest behind for the retry to build a second time."""
    values = {
        "user_id": user_id,
        "text": text,
        "model": model,
        "news_ids": news_ids,
        "params": params,
        "duration_ms": duration_ms,
        "created_at": utcnow(),
    }
    dialect = sqlite if db.backend == "sqlite" else postgresql
    for _ in range(_ID_ATTEMPTS):
        digest_id = secrets.randbelow(MAX_DIGEST_ID) + 1
        statement = (
            dialect.insert(digests)
            .values(id=digest_id, **values)
            .on_conflict_do_nothing(index_elements=[digests.c.id])
            .returning(digests.c.id)
        )
        async with db.transaction() as tx:
            if (await tx.execute(statement)).scalar_one_or_none() is None:
                continue
            if job_id is not None:
                finished = await tx.execute(
                    digest_jobs.update()
                    .where(
                        digest_jobs.c.id == job_id,
                        digest_jobs.c.status.in_(("queued", "running")),
                    )
                    .values(status="done", digest_id=digest_id, error=None, updated_at=utcnow())
                )
                if finished.rowcount == 0:
                    raise JobFinishedElsewhere(job_id)  # rolls the digest back
            return digest_item({"id": digest_id, **values})
    raise RuntimeError(f"no free digest id in {_ID_ATTEMPTS} random tries")


async def digest_by_id(
    db: Database, *, digest_id: int, owner_id: int | None = None
) -> dict[str, Any] | None:
    """The digest, if it exists and (with an `owner_id`) belongs to that user."""
    statement = sa.select(digests).where(digests.c.id == digest_id)
    if owner_id is not None:
        statement = statement.where(digests.c.user_id == owner_id)
    row = await db.fetch_one(statement)
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
