"""The job queue of one process: procrastinate's app, enqueueing, and the worker.

A job is enqueued in the transaction of the row the API reports on (the digest job
row): both commit, or neither. On PostgreSQL that is one SQL call to procrastinate's
own `procrastinate_defer_jobs_v1` on the app's SQLAlchemy connection, so the app's
driver (asyncpg) and procrastinate's (psycopg, its own pool, for workers and listings)
never have to share a connection. On SQLite the in-memory queue takes the job right
after the commit.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import procrastinate
import sqlalchemy as sa
from procrastinate.testing import InMemoryConnector

from shared.database.engine import Database, Transaction
from shared.database.url import libpq_url, resolve
from shared.ingest import lock_name
from shared.jobs import tasks
from shared.jobs.retry import UpstreamRetry
from shared.jobs.schedule import interval_cron
from shared.settings import Settings

if TYPE_CHECKING:
    from shared.runtime import Runtime

log = logging.getLogger(__name__)

_DEFER = sa.text(
    "SELECT unnest(procrastinate_defer_jobs_v1(ARRAY[ROW("
    "CAST(:queue AS varchar), CAST(:task AS varchar), CAST(:priority AS integer),"
    " CAST(:lock AS text), CAST(:queueing_lock AS text), CAST(:args AS jsonb),"
    " CAST(NULL AS timestamptz))::procrastinate_job_to_defer_v1])) AS id"
)
# Many jobs of one task in one call: `:args` is a JSON array of their arguments, in order.
_DEFER_MANY = sa.text(
    "SELECT unnest(procrastinate_defer_jobs_v1(ARRAY(SELECT ROW("
    "CAST(:queue AS varchar), CAST(:task AS varchar), 0, CAST(NULL AS text),"
    " CAST(NULL AS text), job.args, CAST(NULL AS timestamptz))::procrastinate_job_to_defer_v1"
    " FROM jsonb_array_elements(CAST(:args AS jsonb)) WITH ORDINALITY AS job(args, n)"
    " ORDER BY job.n))) AS id"
)


def stall_cron(seconds: int) -> str:
    """A six-field cron (seconds last, as croniter reads it) firing every `seconds`."""
    seconds = max(1, min(59, seconds))
    return f"* * * * * */{seconds}"


def build_app(settings: Settings) -> procrastinate.App:
    """procrastinate's app for these settings: connector, tasks, periodic tasks."""
    if settings.is_sqlite:
        connector: procrastinate.BaseConnector = InMemoryConnector()
    else:
        pooler = resolve(settings.database_url, pooler=settings.db_pooler).pooler
        connector = procrastinate.PsycopgConnector(
            conninfo=libpq_url(settings.database_url),
            # A transaction pooler hands each transaction to any server connection: no
            # prepared statements (psycopg prepares a query run 5 times by default).
            kwargs={"prepare_threshold": None} if pooler == "transaction" else {},
            # No connection at open: a gateway starts while the database is down.
            min_size=0,
            max_size=max(2, settings.jobs_concurrency + 2),  # listener + heartbeat + jobs
        )
    app = procrastinate.App(connector=connector)
    retry = UpstreamRetry(
        max_attempts=settings.jobs_max_attempts,
        base_seconds=settings.jobs_retry_base_seconds,
        max_seconds=settings.jobs_retry_max_seconds,
    )
    queue = settings.jobs_queue
    app.task(name=tasks.BUILD_DIGEST, queue=queue, pass_context=True, retry=retry)(
        tasks.build_digest
    )
    retry_stalled = app.task(
        name=tasks.RETRY_STALLED,
        queue=queue,
        pass_context=True,
        queueing_lock=tasks.RETRY_STALLED,  # one pending sweep at a time
    )(tasks.retry_stalled_jobs)
    app.periodic(cron=stall_cron(settings.jobs_stalled_check_seconds))(retry_stalled)
    # Feed ingest: one run at a time across all workers (`lock`), one waiting (`queueing_lock`);
    # a run cut short by a worker's shutdown goes back to the queue and resumes.
    app.task(
        name=tasks.INGEST_FEEDS,
        queue=queue,
        pass_context=True,
        retry=retry,
        lock=lock_name(queue),
        queueing_lock=lock_name(queue),
    )(tasks.ingest_feeds)
    schedule_ingest = app.task(
        name=tasks.SCHEDULE_INGEST,
        queue=queue,
        pass_context=True,
        queueing_lock=f"{queue}:{tasks.SCHEDULE_INGEST}",
    )(tasks.schedule_ingest)
    if settings.ingest_interval_seconds:  # INGEST_INTERVAL_SECONDS=0: no schedule
        # Deferred once per tick by all the workers of this queue (`periodic_id`: deployments
        # sharing a database each get their ticks).
        cron = interval_cron(settings.ingest_interval_seconds)
        app.periodic(cron=cron, periodic_id=queue)(schedule_ingest)
    app.task(name=tasks.SEND_BROADCAST_MESSAGE, queue=queue, pass_context=True, retry=retry)(
        tasks.send_broadcast_message
    )
    return app


@dataclass
class JobTransaction:
    """A database transaction that also enqueues jobs; see `JobQueue.transaction`."""

    tx: Transaction
    queue: JobQueue
    _after_commit: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    async def defer(self, task_name: str, **task_kwargs: Any) -> None:
        if self.queue.durable:
            task = self.queue.app.tasks[task_name]  # its locks, as defer_async applies them
            await self.tx.execute(
                _DEFER.bindparams(
                    queue=self.queue.settings.jobs_queue,
                    task=task_name,
                    priority=0,
                    lock=task.lock,
                    queueing_lock=task.queueing_lock,
                    args=json.dumps(task_kwargs),
                )
            )
        else:  # the in-memory queue cannot take part: the job follows the commit
            self._after_commit.append((task_name, task_kwargs))

    async def defer_many(self, task_name: str, jobs_kwargs: list[dict[str, Any]]) -> None:
        """A job of `task_name` for each of `jobs_kwargs`: one SQL call for them all."""
        if not jobs_kwargs:
            return
        if self.queue.durable:
            await self.tx.execute(
                _DEFER_MANY.bindparams(
                    queue=self.queue.settings.jobs_queue,
                    task=task_name,
                    args=json.dumps(jobs_kwargs),
                )
            )
        else:
            self._after_commit.extend((task_name, kwargs) for kwargs in jobs_kwargs)


class JobQueue:
    """procrastinate's app in this process, and its embedded worker when there is one."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.app = build_app(settings)
        self._worker: asyncio.Task[None] | None = None
        # Asking for an ingest run, in this process (shared/ingest.py `request_ingest`).
        self.ingest_lock = asyncio.Lock()

    @property
    def pooler(self) -> str:
        if self.settings.is_sqlite:
            return "none"
        return resolve(self.settings.database_url, pooler=self.settings.db_pooler).pooler

    @property
    def durable(self) -> bool:
        """Jobs survive this process (PostgreSQL); in memory (SQLite) they do not."""
        return not self.settings.is_sqlite

    async def open(self) -> None:
        await self.app.open_async()

    async def close(self) -> None:
        await self.stop_worker()
        await self.app.close_async()

    @asynccontextmanager
    async def transaction(self, db: Database) -> AsyncIterator[JobTransaction]:
        """`async with queue.transaction(db) as jtx`: write rows on `jtx.tx`, enqueue with
        `jtx.defer(...)`; the rows and the jobs commit together."""
        async with db.transaction() as tx:
            jtx = JobTransaction(tx=tx, queue=self)
            yield jtx
        for task_name, task_kwargs in jtx._after_commit:
            await self.app.configure_task(task_name).defer_async(**task_kwargs)

    async def run_worker(
        self, runtime: Runtime, *, concurrency: int, install_signal_handlers: bool
    ) -> None:
        """Run jobs until stopped (SIGTERM/SIGINT when `install_signal_handlers`, else by
        cancelling): running jobs then get `jobs_shutdown_grace_seconds` to finish before
        they are handed back to the queue."""
        settings = self.settings
        await self.app.run_worker_async(
            queues=[settings.jobs_queue],
            name=f"{socket.gethostname()}:{os.getpid()}",
            concurrency=max(1, concurrency),
            additional_context={"runtime": runtime},
            install_signal_handlers=install_signal_handlers,
            # LISTEN needs a session of its own, which a transaction pooler does not keep:
            # behind one the worker polls every JOBS_POLL_SECONDS instead. The in-memory
            # queue (SQLite) notifies its worker itself: a job starts when it is deferred.
            listen_notify=self.pooler != "transaction",
            fetch_job_polling_interval=settings.jobs_poll_seconds,
            update_heartbeat_interval=settings.jobs_heartbeat_seconds,
            stalled_worker_timeout=settings.jobs_stalled_seconds,
            shutdown_graceful_timeout=settings.jobs_shutdown_grace_seconds,
        )

    def start_embedded_worker(self, runtime: Runtime) -> None:
        """The gateway's own worker, on its loop (uvicorn owns the signals)."""
        self._worker = asyncio.get_running_loop().create_task(
            self._keep_working(runtime), name="embedded job worker"
        )

    async def _keep_working(self, runtime: Runtime) -> None:
        """A worker that lost its database (or started before it answered) starts again."""
        while True:
            try:
                await self.run_worker(
                    runtime,
                    concurrency=self.settings.jobs_concurrency,
                    install_signal_handlers=False,
                )
            except Exception:
                log.exception("the embedded job worker stopped; restarting it")
            await asyncio.sleep(self.settings.jobs_poll_seconds)

    async def stop_worker(self) -> None:
        """Cancelling procrastinate's worker is its graceful stop (see run_worker)."""
        worker, self._worker = self._worker, None
        if worker is None or worker.done():
            return
        worker.cancel()
        try:
            await worker
        except asyncio.CancelledError:
            pass
