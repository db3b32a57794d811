from __future__ import annotations

from typing import Any

from shared.contracts.common import page
from shared.database.engine import Database
from shared.database.queries import digest_jobs as job_queries
from shared.database.queries import digests as queries
from shared.digest import DigestParams
from shared.digest_jobs import canonical_job_id
from shared.digest_jobs import start_digest_job as start_job
from shared.errors import not_found
from shared.runtime import Runtime


async def start_digest_job(*, rt: Runtime, params: DigestParams, user_id: int | None) -> str:
    """Queue the job (row and procrastinate job together); answers before the AI does."""
    return await start_job(db=rt.db, jobs=rt.jobs, params=params, user_id=user_id)


async def digest_job(*, db: Database, job_id: str, owner_id: int | None) -> dict[str, Any]:
    canonical = canonical_job_id(job_id)
    job = (
        await job_queries.job_by_id(db, job_id=canonical, owner_id=owner_id) if canonical else None
    )
    if job is None:
        raise not_found("digest job")
    return job


async def history(*, db: Database, user_id: int, limit: int, offset: int) -> dict[str, Any]:
    items, total = await queries.digests_of_user(db, user_id=user_id, limit=limit, offset=offset)
    return page(items, total=total, limit=limit, offset=offset)


async def digest(*, db: Database, digest_id: int, owner_id: int | None) -> dict[str, Any]:
    found = await queries.digest_by_id(db, digest_id=digest_id, owner_id=owner_id)
    if found is None:
        raise not_found("digest")
    return found
