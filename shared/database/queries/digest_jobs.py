"""Digest jobs: a row per job, so any worker process can answer for any job."""

from __future__ import annotations

import uuid
from typing import Any, Literal

import sqlalchemy as sa

from shared.database.engine import Database, Transaction
from shared.database.queries.digests import digest_item
from shared.database.rows import utcnow
from shared.database.schema import digest_jobs, digests

JobStatus = Literal["queued", "running", "done", "failed"]


async def create_job(tx: Transaction, *, params: dict[str, Any], user_id: int | None) -> str:
    """A new queued job; its id is a random UUID. In the transaction that enqueues it."""
    job_id = str(uuid.uuid4())
    now = utcnow()
    await tx.execute(
        digest_jobs.insert().values(
            id=job_id,
            status="queued",
            params=params,
            user_id=user_id,
            created_at=now,
            updated_at=now,
        )
    )
    return job_id


async def set_job_status(
    db: Database,
    *,
    job_id: str,
    status: JobStatus,
    digest_id: int | None = None,
    error: str | None = None,
) -> None:
    """Only a job still under way changes: a second run of one (a worker thought stalled
    that was only slow) never turns `done` or `failed` back."""
    await db.execute(
        digest_jobs.update()
        .where(digest_jobs.c.id == job_id, digest_jobs.c.status.in_(("queued", "running")))
        .values(status=status, digest_id=digest_id, error=error, updated_at=utcnow())
    )


async def job_to_build(db: Database, *, job_id: str) -> dict[str, Any] | None:
    """`{"params", "user_id"}` of a job still to build (queued, or running when a stalled
    worker's run is retried); None once it is done or failed, or if it is gone."""
    return await db.fetch_one(
        sa.select(digest_jobs.c.params, digest_jobs.c.user_id).where(
            digest_jobs.c.id == job_id, digest_jobs.c.status.in_(("queued", "running"))
        )
    )


async def job_by_id(
    db: Database, *, job_id: str, owner_id: int | None = None
) -> dict[str, Any] | None:
    """`{"job_id", "status"}`, plus `digest` once done and `error` once failed.

    With an `owner_id`, only a job of that user is found.
    """
    statement = (
        sa.select(
            digest_jobs.c.id.label("job_id"),
            digest_jobs.c.status,
            digest_jobs.c.error,
            digests.c.id,
            digests.c.text,
            digests.c.model,
            digests.c.news_ids,
            digests.c.params,
            digests.c.created_at,
        )
        .select_from(digest_jobs.outerjoin(digests, digests.c.id == digest_jobs.c.digest_id))
        .where(digest_jobs.c.id == job_id)
    )
    if owner_id is not None:
        statement = statement.where(digest_jobs.c.user_id == owner_id)
    row = await db.fetch_one(statement)
    if row is None:
        return None
    job: dict[str, Any] = {"job_id": row["job_id"], "status": row["status"]}
    if row["id"] is not None:
        job["digest"] = digest_item(row)
    if row["error"] is not None:
        job["error"] = row["error"]
    return job
