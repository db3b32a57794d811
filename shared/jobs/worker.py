"""`python -m gateway worker`: a process that only runs jobs, on any machine.

It opens the same runtime as the gateway (database, AI client, HTTP client) without
an embedded worker, then runs procrastinate's worker until SIGTERM/SIGINT: running jobs
get JOBS_SHUTDOWN_GRACE_SECONDS to finish, and what is still running then goes back to
the queue for another worker. A worker killed outright (kill -9) stops sending its
heartbeat; the others retry its jobs after JOBS_STALLED_SECONDS.
"""

from __future__ import annotations

import logging

from shared.runtime import Runtime
from shared.settings import Settings

log = logging.getLogger(__name__)


class WorkerRefused(Exception):
    """This configuration cannot have a separate worker process."""


async def run_worker_process(settings: Settings, *, concurrency: int) -> None:
    if settings.is_sqlite:
        raise WorkerRefused(
            "SQLite keeps the job queue in the gateway's memory: its jobs run in the gateway "
            "process (no separate worker); set DATABASE_URL to PostgreSQL to run workers"
        )
    # procrastinate's connection pool is sized from the concurrency (shared/jobs/queue.py).
    settings = settings.model_copy(update={"jobs_concurrency": concurrency})
    runtime = await Runtime.open(settings, embedded_worker=False)
    try:
        log.warning("job worker on queue %r, %d at a time", settings.jobs_queue, concurrency)
        await runtime.jobs.run_worker(
            runtime, concurrency=concurrency, install_signal_handlers=True
        )
    finally:
        await runtime.close()
