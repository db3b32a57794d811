"""The task functions procrastinate runs. Registered on the app by `queue.build_app`
under the names below (the names are stored in queued jobs: never rename one)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from procrastinate import JobContext
from procrastinate.jobs import Job, Status

from shared.broadcast import SEND_BROADCAST_MESSAGE, deliver_message
from shared.broadcast import STALLED as MESSAGE_STALLED
from shared.database.queries.broadcasts import finish_message
from shared.digest_jobs import BUILD_DIGEST, STALLED, fail_digest_job, run_digest_job
from shared.ingest import (
    INGEST_FEEDS,
    SCHEDULE_INGEST,
    SCHEDULER,
    finish_failed,
    request_ingest,
    run_ingest,
)
from shared.ingest import STALLED as INGEST_STALLED
from shared.jobs.retry import last_attempt

if TYPE_CHECKING:
    from shared.runtime import Runtime

log = logging.getLogger(__name__)

__all__ = [
    "BUILD_DIGEST",
    "INGEST_FEEDS",
    "RETRY_STALLED",
    "SCHEDULE_INGEST",
    "SEND_BROADCAST_MESSAGE",
    "build_digest",
    "ingest_feeds",
    "retry_stalled_jobs",
    "schedule_ingest",
    "send_broadcast_message",
]

RETRY_STALLED = "jobs.retry_stalled"


def runtime_of(context: JobContext) -> Runtime:
    """The process's runtime, handed to its worker (see JobQueue.run_worker)."""
    return context.additional_context["runtime"]


async def build_digest(context: JobContext, *, job_id: str) -> None:
    rt = runtime_of(context)
    await run_digest_job(
        db=rt.db,
        writer=rt.writer,
        job_id=job_id,
        requeued_on_cancel=rt.jobs.durable,
        last_attempt=last_attempt(context.job, rt.settings.jobs_max_attempts),
    )


async def send_broadcast_message(context: JobContext, *, recipient_id: int) -> None:
    """One message of a broadcast (shared/broadcast.py)."""
    rt = runtime_of(context)
    await deliver_message(
        db=rt.db,
        http=rt.http,
        settings=rt.settings,
        recipient_id=recipient_id,
        last_attempt=last_attempt(context.job, rt.settings.jobs_max_attempts),
    )


async def ingest_feeds(context: JobContext, *, run: str, actor: str) -> None:
    """One ingest run of every enabled source (shared/ingest.py)."""
    rt = runtime_of(context)
    await run_ingest(db=rt.db, http=rt.http, settings=rt.settings, run=run, actor=actor)


async def schedule_ingest(context: JobContext, timestamp: int) -> None:
    """The periodic tick (INGEST_INTERVAL_SECONDS): asks for a run as the admin API does."""
    rt = runtime_of(context)
    await request_ingest(db=rt.db, jobs=rt.jobs, actor=SCHEDULER, trigger="schedule")


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
    elif job.task_name == INGEST_FEEDS:
        await finish_failed(
            rt.db,
            run=str(job.task_kwargs["run"]),
            actor=str(job.task_kwargs["actor"]),
            error=INGEST_STALLED,
        )
    elif job.task_name == SEND_BROADCAST_MESSAGE:
        recipient_id = int(job.task_kwargs["recipient_id"])  # type: ignore[arg-type]
        await finish_message(
            rt.db, recipient_id=recipient_id, status="failed", error=MESSAGE_STALLED
        )
