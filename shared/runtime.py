"""What lives on the process's one event loop, for both halves: the database, the AI
client, the outbound HTTP client and the job queue (with the embedded job worker when
there is one). Opened and closed once per process."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

import httpx

from shared.ai import DigestWriter
from shared.database.bridge import LoopBridge
from shared.database.engine import Database
from shared.jobs.queue import JobQueue
from shared.rate_limit import FailedAuthGuard
from shared.request_stats import RequestStats
from shared.settings import Settings

OUTBOUND_TIMEOUT = httpx.Timeout(10.0, connect=5.0)


@dataclass
class Runtime:
    settings: Settings
    db: Database
    writer: DigestWriter
    http: httpx.AsyncClient
    jobs: JobQueue
    started_at: float = field(default_factory=time.time)
    stats: RequestStats = field(default_factory=RequestStats)
    # Per-process caches by name (e.g. app config); dropped by their own endpoints.
    caches: dict[str, Any] = field(default_factory=dict)
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)
    # Failed admin-token and initData checks per client address (brute force costs time).
    auth_guard: FailedAuthGuard = field(default_factory=FailedAuthGuard)

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run `coro` in the background on this loop; cancelled when the runtime closes."""
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    @classmethod
    async def open(cls, settings: Settings, *, embedded_worker: bool | None = None) -> Runtime:
        """`embedded_worker`: run jobs in this process (default: JOBS_EMBEDDED_WORKER; always
        on SQLite, whose queue lives in this process's memory)."""
        db = Database(
            settings.database_url,
            pool_size=settings.db_pool_size,
            pool_timeout=settings.db_pool_timeout_seconds,
            simulated_latency_ms=settings.db_simulated_latency_ms,
            pooler=settings.db_pooler,
        )
        await db.connect()
        auth_guard = FailedAuthGuard(
            limit=settings.auth_failure_limit,
            storage_url=settings.rate_limit_storage_url,
            key_prefix=settings.rate_limit_key_prefix,
        )
        await auth_guard.open()
        jobs = JobQueue(settings)
        await jobs.open()
        runtime = cls(
            settings=settings,
            db=db,
            writer=DigestWriter(settings),
            http=httpx.AsyncClient(timeout=OUTBOUND_TIMEOUT, follow_redirects=True),
            jobs=jobs,
            auth_guard=auth_guard,
        )
        if embedded_worker is None:
            embedded_worker = settings.jobs_embedded_worker
        if embedded_worker or settings.is_sqlite:
            jobs.start_embedded_worker(runtime)
        return runtime

    async def close(self) -> None:
        await self.jobs.close()  # running jobs finish (up to the grace), or go back
        for task in list(self.tasks):
            task.cancel()
        if self.tasks:
            await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.http.aclose()
        await self.auth_guard.close()
        await self.writer.close()
        await self.db.close()


async def close_runtime(runtime: Runtime) -> None:
    await runtime.close()


def standalone_bridge(settings: Settings) -> LoopBridge[Runtime]:
    """A bridge that owns its loop thread and opens the runtime on it (no gateway)."""
    return LoopBridge(
        timeout=settings.bridge_timeout_seconds,
        open_resource=lambda: Runtime.open(settings),
        close_resource=close_runtime,
    )


def attached_bridge(settings: Settings) -> LoopBridge[Runtime]:
    """A bridge the gateway's lifespan attaches to uvicorn's loop."""
    return LoopBridge(timeout=settings.bridge_timeout_seconds)
