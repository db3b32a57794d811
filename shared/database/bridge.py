"""The loop bridge: the only way sync (Flask) code reaches the async DB layer.

Under the gateway the bridge is *attached* to uvicorn's running loop; a view running on
one of a2wsgi's threads submits its coroutine there with `run_coroutine_threadsafe`
and waits, with a timeout, for the answer. Run standalone (gunicorn, `flask run`), the
bridge owns one background loop thread per process, started on first use and started
again in a child after a fork. Nothing else creates an event loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Generic, TypeVar

from shared.database.engine import DOWN_RETRY_AFTER_SECONDS
from shared.errors import ApiError

T = TypeVar("T")
R = TypeVar("R")


class BridgeMisuse(RuntimeError):
    """The bridge was called from the loop's own thread, where waiting would deadlock."""


class BridgeTimeout(ApiError):
    """503 `unavailable` with `Retry-After`, like any other database outage."""

    def __init__(self, seconds: float) -> None:
        super().__init__(
            "unavailable",
            f"the database did not answer within {seconds:g} s",
            retry_after=DOWN_RETRY_AFTER_SECONDS,
        )


class BridgeStats:
    def __init__(self) -> None:
        self.calls = 0
        self.timeouts = 0
        self.wait_seconds_total = 0.0
        self.wait_seconds_max = 0.0
        self.loops_started = 0
        self._lock = threading.Lock()
        self.observers: list[Callable[[float], None]] = []

    def record(self, waited: float) -> None:
        with self._lock:
            self.calls += 1
            self.wait_seconds_total += waited
            self.wait_seconds_max = max(self.wait_seconds_max, waited)
        for observe in self.observers:
            observe(waited)


class LoopBridge(Generic[R]):
    """Runs coroutines for sync callers on the process's one event loop.

    `R` is the resource that lives on that loop (the runtime: database, AI client, …).
    """

    def __init__(
        self,
        *,
        timeout: float,
        open_resource: Callable[[], Awaitable[R]] | None = None,
        close_resource: Callable[[R], Awaitable[None]] | None = None,
    ) -> None:
        self.timeout = timeout
        self._open_resource = open_resource
        self._close_resource = close_resource
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread_id: int | None = None
        self._resource: R | None = None
        self._owned_thread: threading.Thread | None = None
        self._pid = os.getpid()
        self._start_lock = threading.Lock()
        self.stats = BridgeStats()
        os.register_at_fork(after_in_child=self._forget_parent_loop)

    # -- attached mode: the gateway's lifespan hands over its running loop -------------
    def attach(self, resource: R) -> None:
        """Called on the loop thread by the owner of the loop (the gateway's lifespan)."""
        self._loop = asyncio.get_running_loop()
        self._loop_thread_id = threading.get_ident()
        self._resource = resource

    def detach(self) -> None:
        self._loop = None
        self._loop_thread_id = None
        self._resource = None

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        return self._loop

    @property
    def resource(self) -> R:
        self._ensure_loop()
        if self._resource is None:
            raise RuntimeError("the loop bridge has no runtime attached")
        return self._resource

    def run(self, coro: Coroutine[Any, Any, T], *, timeout: float | None = None) -> T:
        """Run `coro` on the shared loop and wait for its result (or raise its error)."""
        try:
            loop = self._ensure_loop()
            if threading.get_ident() == self._loop_thread_id:
                raise BridgeMisuse(
                    "LoopBridge.run() was called on the event loop's own thread; "
                    "async code must await the coroutine instead of bridging it"
                )
        except BaseException:
            coro.close()
            raise
        limit = self.timeout if timeout is None else timeout
        started = time.perf_counter()
        future = asyncio.run_coroutine_threadsafe(coro, loop)
        try:
            return future.result(limit)
        except concurrent.futures.TimeoutError:
            future.cancel()
            self.stats.timeouts += 1
            raise BridgeTimeout(limit) from None
        finally:
            self.stats.record(time.perf_counter() - started)

    # -- standalone mode: one background loop thread per process ----------------------
    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        if self._pid != os.getpid():
            self._forget_parent_loop()
        loop = self._loop
        if loop is not None and not loop.is_closed():
            return loop
        if self._open_resource is None:
            raise RuntimeError(
                "the loop bridge is not attached to a running loop (is the gateway started?)"
            )
        with self._start_lock:
            if self._loop is None or self._loop.is_closed():
                self._start_owned_loop()
        assert self._loop is not None
        return self._loop

    def _start_owned_loop(self) -> None:
        loop = asyncio.new_event_loop()  # the process's one loop, not one per call
        ready = threading.Event()

        def serve() -> None:
            asyncio.set_event_loop(loop)
            self._loop_thread_id = threading.get_ident()
            ready.set()
            loop.run_forever()

        thread = threading.Thread(target=serve, name="db-loop", daemon=True)
        thread.start()
        ready.wait()
        self._owned_thread = thread
        self.stats.loops_started += 1
        assert self._open_resource is not None
        opened = asyncio.run_coroutine_threadsafe(_await(self._open_resource()), loop)
        self._resource = opened.result(self.timeout)
        self._loop = loop

    def close(self) -> None:
        """Stop an owned loop (standalone mode), closing its resource first."""
        loop, thread, resource = self._loop, self._owned_thread, self._resource
        if loop is None or thread is None:
            return
        if resource is not None and self._close_resource is not None:
            closing = _await(self._close_resource(resource))
            asyncio.run_coroutine_threadsafe(closing, loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()
        self._loop = self._owned_thread = self._resource = None
        self._loop_thread_id = None

    def _forget_parent_loop(self) -> None:
        # The parent's loop thread does not exist in a forked child: start afresh.
        self._pid = os.getpid()
        if self._owned_thread is not None:
            self._loop = None
            self._owned_thread = None
            self._resource = None
            self._loop_thread_id = None
        self._start_lock = threading.Lock()


async def _await(awaitable: Awaitable[T]) -> T:
    return await awaitable
