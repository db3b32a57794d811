"""The task functions procrastinate runs. Registered on the app by `queue.build_app`
under the names below (the names are stored in queued jobs: never rename one)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from procrastinate import JobContext
from procrastinate.jobs import Job, Status

from shared.digest_jobs import BUILD_DIGEST, STALLED, fail_digest_job, run_digest_job

if TYPE_CHECKING:
    from shared.runtime import Runtime

log = logging.getLogger(__name__)

__all__ = ["BUILD_DIGEST", "RETRY_STALLED", "build_digest", "retry_stalled_jobs"]

RETRY_STALLED = "jobs.retry_stalled"


def runtime_of(context: JobContext) -> Runtime:
    """The process's runtime, handed to its worker (see JobQueue.run_worker)."""
    return context.additional_context["runtime"]


async def build_digest(context: JobContext, *, job_id: str) -> None:
    rt = runtime_of(context)
    await run_digest_job(
        db=rt.db, writer=rt.writer, job_id=job_id, requeued_on_cancel=rt.jobs.durable
    )


async def retry_stalled_jobs(context: JobContext, timestamp: int) -> None:
    """Jobs left `doing` by a worker whose heartbeat stopped (kill -9, a lost machine) go
    back to the queue; one that has used up its attempts ends `failed`, with the reason."""
    rt = runtime_of(context)
    settings = rt.settings
    manager = context.app.job_manager
    stalled = await manager.get_stalled_jobs(
        queue=settings.jobs_queue, seconds_since_heartbeat=settings.jobs_stalled_seconds
    )
    for job in stalled:
        if job.attempts + 1 < settings.jobs_max_attempts:
            log.warning("job %s (%s) stalled: its worker is gone; retrying", job.id, job.task_name)
            await manager.retry_job(job)
            continue
        log.error("job %s (%s) stalled %s times: failed", job.id, job.task_name, job.attempts + 1)
        assert job.id is not None
        await manager.finish_job_by_id_async(job_id=job.id, status=Status.FAILED, delete_job=False)
        await _record_abandoned(rt, job)


async def _record_abandoned(rt: Runtime, job: Job) -> None:
    if job.task_name == BUILD_DIGEST:
        await fail_digest_job(rt.db, job_id=str(job.task_kwargs["job_id"]), error=STALLED)
