"""Digest jobs: a digest built in the background, its state kept in `digest_jobs`.

Both halves start a job the same way (`start_digest_job`: the row and the queued
procrastinate job in one transaction); a worker runs `run_digest_job` from the
`digest.build` task (shared/jobs/tasks.py), in whichever process picks the job up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from typing import TYPE_CHECKING

from shared.ai import AIServiceError, DigestWriter
from shared.database.engine import Database
from shared.database.queries.digest_jobs import create_job, job_to_build, set_job_status
from shared.database.queries.digests import JobFinishedElsewhere
from shared.digest import DigestParams, generate_digest
from shared.digest_params import stored_params
from shared.errors import ApiError
from shared.jobs.retry import UpstreamBusy

if TYPE_CHECKING:
    from shared.jobs.queue import JobQueue

log = logging.getLogger(__name__)

INTERRUPTED = "the digest job was interrupted before it finished"
INTERNAL = "the digest could not be built"
STALLED = "the digest job's worker stopped responding too many times"
BUILD_DIGEST = "digest.build"  # the task's name (shared/jobs/tasks.py): stored in jobs


def canonical_job_id(value: str) -> str | None:
    """The stored form of a job id (lower-case UUID), or None if it is not a UUID."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


async def start_digest_job(
    *, db: Database, jobs: JobQueue, params: DigestParams, user_id: int | None
) -> str:
    """A queued job row and the job that builds it, committed together."""
    async with jobs.transaction(db) as jtx:
        job_id = await create_job(jtx.tx, params=params.as_dict(), user_id=user_id)
        await jtx.defer(BUILD_DIGEST, job_id=job_id)
    return job_id


async def fail_digest_job(db: Database, *, job_id: str, error: str) -> None:
    await set_job_status(db, job_id=job_id, status="failed", error=error)


async def run_digest_job(
    *,
    db: Database,
    writer: DigestWriter,
    job_id: str,
    requeued_on_cancel: bool,
    last_attempt: bool = True,
) -> None:
    """queued -> running -> done | failed. Cut short (a worker's shutdown), the job reads
    `queued` again when the queue keeps it for another run (`requeued_on_cancel`), else
    `failed`: it is never left `running` by a worker that is still alive.

    A busy AI service (429, 5xx, a timeout) puts the job back to `queued` and raises
    `UpstreamBusy`, for the queue to run it again later, unless this is its
    `last_attempt`: then it ends `failed` with the reason, as any other AI failure does."""
    job = await job_to_build(db, job_id=job_id)
    if job is None:  # finished already (a retry after a stall), or its row is gone
        return
    params = DigestParams(**stored_params(job["params"]))
    try:
        await set_job_status(db, job_id=job_id, status="running")
        await generate_digest(
            db=db, writer=writer, params=params, user_id=job["user_id"], job_id=job_id
        )
    except JobFinishedElsewhere:  # another worker's run of it finished first
        return
    except AIServiceError as exc:
        if exc.retryable and not last_attempt:
            await set_job_status(db, job_id=job_id, status="queued")
            raise UpstreamBusy(exc.message, retry_after=exc.wait_seconds) from None
        await set_job_status(db, job_id=job_id, status="failed", error=exc.message)
        return
    except ApiError as exc:  # the AI answered nonsense: the client sees why
        await set_job_status(db, job_id=job_id, status="failed", error=exc.message)
        return
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):  # the database may be closing too
            if requeued_on_cancel:  # the worker hands the job back: it will run again
                await asyncio.shield(set_job_status(db, job_id=job_id, status="queued"))
            else:
                await asyncio.shield(
                    set_job_status(db, job_id=job_id, status="failed", error=INTERRUPTED)
                )
        raise
    except Exception:
        log.exception("digest job %s failed", job_id)
        await set_job_status(db, job_id=job_id, status="failed", error=INTERNAL)
        return
    # The job is `done` now: `store_digest` set it, with its digest, in one transaction.
