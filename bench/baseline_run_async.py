""" "Before": the legacy app with the audit's `run_async()`, rebuilt for the benchmark only.

`gunicorn bench.baseline_run_async:app` serves the same Flask views, but every bridge call
runs the way the seed ran it: a new event loop per call, run to completion on the calling
thread. The async engine's pool belongs to the loop that opened it, so a new loop also
means a new engine and a new connection per call (and new HTTP and AI clients), as the
seed had. Nothing outside `bench/` uses this: it is the anti-pattern being measured.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Coroutine
from typing import Any, TypeVar, cast

import httpx

from legacy_flask.app import create_app
from shared.ai import DigestWriter
from shared.database.bridge import BridgeStats, BridgeTimeout, LoopBridge
from shared.database.engine import Database
from shared.jobs.queue import JobQueue
from shared.request_stats import RequestStats
from shared.runtime import OUTBOUND_TIMEOUT, Runtime
from shared.settings import Settings, get_settings

T = TypeVar("T")


class RunAsyncBridge:
    """The interface of `LoopBridge` that legacy views use (`.resource`, `.run()`), with the
    seed's `run_async()` behind it instead of one shared loop."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.timeout = settings.bridge_timeout_seconds
        self.stats = BridgeStats()
        self.loop = None  # there is no loop between calls
        self._local = threading.local()
        # What is per process in the real runtime stays per process here.
        self._request_stats = RequestStats()
        self._caches: dict[str, Any] = {}
        self._started_at = time.time()

    @property
    def resource(self) -> Runtime:
        """This thread's runtime; its engine and clients are replaced after every call."""
        runtime: Runtime | None = getattr(self._local, "runtime", None)
        if runtime is None:
            runtime = self._local.runtime = Runtime(
                settings=self.settings,
                db=Database(
                    self.settings.database_url,
                    pool_size=self.settings.db_pool_size,
                    simulated_latency_ms=self.settings.db_simulated_latency_ms,
                ),
                writer=DigestWriter(self.settings),
                http=httpx.AsyncClient(timeout=OUTBOUND_TIMEOUT, follow_redirects=True),
                # Never opened: the seed had no job queue, and no scenario enqueues a job.
                jobs=JobQueue(self.settings),
                started_at=self._started_at,
                stats=self._request_stats,
                caches=self._caches,
            )
        return runtime

    def run(self, coro: Coroutine[Any, Any, T], *, timeout: float | None = None) -> T:
        """The seed's `run_async(coro)`: a new event loop, run until the coroutine is done."""
        runtime: Runtime | None = getattr(self._local, "runtime", None)
        limit = self.timeout if timeout is None else timeout
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        started = time.perf_counter()
        try:
            return loop.run_until_complete(self._call(coro, runtime, limit))
        finally:
            if runtime is not None:
                loop.run_until_complete(self._release(runtime))
            asyncio.set_event_loop(None)
            loop.close()
            self.stats.record(time.perf_counter() - started)

    def close(self) -> None:
        """Nothing outlives a call."""

    async def _call(self, coro: Coroutine[Any, Any, T], runtime: Runtime | None, limit: float) -> T:
        if runtime is not None:
            await runtime.db.connect()  # a new engine (and pool) on this call's loop
        try:
            return await asyncio.wait_for(coro, limit)
        except TimeoutError:
            self.stats.timeouts += 1
            raise BridgeTimeout(limit) from None

    async def _release(self, runtime: Runtime) -> None:
        # Connections and sockets belong to the loop that is about to close.
        await runtime.db.close()
        await runtime.http.aclose()
        await runtime.writer.close()
        runtime.http = httpx.AsyncClient(timeout=OUTBOUND_TIMEOUT, follow_redirects=True)
        runtime.writer = DigestWriter(self.settings)


def create_baseline_app(settings: Settings | None = None) -> Any:
    settings = settings or get_settings()
    bridge = cast(LoopBridge[Runtime], RunAsyncBridge(settings))
    return create_app(settings=settings, bridge=bridge)


app = create_baseline_app()
