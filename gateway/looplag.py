"""The loop-lag monitor: the one event loop is the design, so one blocking call in an async
handler (a `time.sleep`, a sync HTTP call, a heavy loop) stalls every request of the
worker, Flask's included. This makes that mistake visible.

A heartbeat task on the loop notes the time every few milliseconds; its lateness is the
loop's lag (a histogram on `/metrics`). A watchdog thread looks at the heartbeat: when it
is older than the threshold, the loop is held by one callback, and the watchdog reads the
loop thread's stack at that moment — the innermost frame of the project's own code says
where, and the dispatcher's frame further out says which route — and logs it once per
episode with its duration.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

log = logging.getLogger("gateway.looplag")

_ROOT = str(Path(__file__).resolve().parent.parent)
_PROJECT = tuple(
    f"{_ROOT}/{package}/"
    for package in ("async_api", "gateway", "legacy_flask", "shared", "tests", "bench")
)
_THIS_FILE = str(Path(__file__).resolve())


@dataclass
class LoopBlock:
    """One episode of the loop being held: how long, where, during which route."""

    seconds: float
    where: str
    route_id: str | None
    at: float  # time.time() when it was noticed
    # The whole process was starved meanwhile (the watchdog itself ran late: an overloaded
    # host, or many threads fighting for the GIL): lag, but not a callback's fault.
    starved: bool = False
    cpu_seconds: float = 0.0  # CPU time the loop thread used during the episode
    threshold: float = 0.1
    # The longest the loop thread sat at one bytecode during the episode: a blocking call
    # sits still; a thread starved of CPU or of the GIL moves on now and then.
    stuck_seconds: float = 0.0
    # What the loop thread was waiting in during that stretch (Linux): a system call such as
    # clock_nanosleep or recvfrom is a blocking call; a futex is a wait for the GIL, which
    # other threads of the process (Flask's, the database driver's) hold by turns.
    waiting_in: str | None = None

    @property
    def blocking(self) -> bool:
        """A callback's fault: it computed for longer than the threshold itself (CPU time,
        which an overloaded host does not inflate), or it sat in one blocking call (the loop
        thread used next to no CPU and stayed at one bytecode for the threshold, while the
        rest of the process ran on time)."""
        idle = self.seconds - self.cpu_seconds
        waiting = idle >= self.threshold and self.cpu_seconds < 0.2 * self.seconds
        stuck = waiting and not self.starved and self.stuck_seconds >= self.threshold
        # In no system call ("running") yet next to no CPU: the thread was ready and waited
        # for a core (a busy host), as in a futex it waits for the GIL: neither is a block.
        return self.cpu_seconds >= self.threshold or (
            stuck and self.waiting_in not in ("futex", "running")
        )

    def describe(self) -> str:
        return (
            f"{self.seconds * 1000:.0f} ms ({self.cpu_seconds * 1000:.0f} ms CPU, "
            f"{self.stuck_seconds * 1000:.0f} ms at one bytecode"
            + (f", in {self.waiting_in}" if self.waiting_in else "")
            + (", process starved" if self.starved else "")
            + f") at {self.where} (route {self.route_id or 'none'})"
        )


# The few system calls worth naming (x86_64 and aarch64 numbers); any other is its number.
_SYSCALLS = {
    "x86_64": {
        0: "read",
        7: "poll",
        23: "select",
        35: "nanosleep",
        45: "recvfrom",
        202: "futex",
        230: "clock_nanosleep",
        232: "epoll_wait",
        281: "epoll_pwait",
        270: "pselect6",
        271: "ppoll",
    },
    "aarch64": {
        63: "read",
        98: "futex",
        101: "nanosleep",
        115: "clock_nanosleep",
        207: "recvfrom",
        22: "epoll_pwait",
        72: "pselect6",
        73: "ppoll",
    },
}.get(os.uname().machine, {})


def _waiting_in(native_id: int | None) -> str | None:
    """The system call a thread of this process sits in ("running" when none), or None
    where /proc cannot tell."""
    try:
        with open(f"/proc/self/task/{native_id}/syscall") as file:
            first = file.read().split(" ", 1)[0].strip()
    except OSError:
        return None
    return _SYSCALLS.get(int(first), first) if first.isdigit() else first


def _blame(frame: FrameType | None) -> tuple[str, str | None]:
    """The innermost project frame (`file:line in function`) and the route being served."""
    where = ""
    route_id: str | None = None
    while frame is not None:
        filename = frame.f_code.co_filename
        if not where and filename.startswith(_PROJECT) and filename != _THIS_FILE:
            where = f"{filename[len(_ROOT) + 1 :]}:{frame.f_lineno} in {frame.f_code.co_name}"
        if route_id is None and frame.f_code.co_name == "__call__":
            entry = frame.f_locals.get("entry")
            route_id = getattr(entry, "id", None)
        frame = frame.f_back
    return where or "outside the project's code", route_id


class LoopLagMonitor:
    def __init__(
        self,
        *,
        threshold: float = 0.1,
        interval: float = 0.01,
        on_lag: Any = None,
        on_block: Any = None,
    ) -> None:
        self.threshold = threshold
        self.interval = interval
        self.on_lag = on_lag  # called on the loop with each heartbeat's lateness
        self.on_block = on_block  # called from the watchdog with each LoopBlock
        self.blocks: deque[LoopBlock] = deque(maxlen=100)
        self.max_lag = 0.0
        self._beat = time.monotonic()
        self._beat_cpu = 0.0
        self._loop_thread: int | None = None
        self._loop_native_id: int | None = None
        self._task: asyncio.Task[None] | None = None
        self._stop = threading.Event()
        self._watchdog: threading.Thread | None = None

    def start(self) -> None:
        self._loop_thread = threading.get_ident()
        self._loop_native_id = threading.get_native_id()
        self._beat = time.monotonic()
        self._task = asyncio.get_running_loop().create_task(self._heartbeat(), name="loop-lag")
        self._stop.clear()
        self._watchdog = threading.Thread(target=self._watch, name="loop-watchdog", daemon=True)
        self._watchdog.start()

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        if self._watchdog is not None:
            self._watchdog.join(1)

    async def _heartbeat(self) -> None:
        while True:
            before = time.monotonic()
            self._beat_cpu = time.thread_time()  # the loop thread's own CPU clock
            self._beat = before
            await asyncio.sleep(self.interval)
            lag = max(0.0, time.monotonic() - before - self.interval)
            self.max_lag = max(self.max_lag, lag)
            if self.on_lag is not None:
                self.on_lag(lag)

    def _loop_cpu(self) -> float:
        try:
            return time.clock_gettime(time.pthread_getcpuclockid(self._loop_thread or 0))
        except (OSError, AttributeError):  # the thread is gone, or no such clock here
            return 0.0

    def _watch(self) -> None:
        episode: LoopBlock | None = None
        started = episode_late = 0.0
        last_position: tuple[int, int] | None = None
        still_since = 0.0
        wait = self.interval
        expected = time.monotonic() + wait
        cpu_at_start = 0.0
        while not self._stop.wait(wait):
            now = time.monotonic()
            # A punctual watchdog means the process ran: the loop alone was held.
            late = now - expected
            held = now - self._beat
            if held < self.threshold:
                if episode is not None:  # the loop is free again: the episode is over
                    # From the beat before the block to the beat after it, exactly.
                    episode.seconds = self._beat - started
                    episode.cpu_seconds = self._beat_cpu - cpu_at_start
                    self._report(episode)
                    episode = None
                # Nothing to see before the last beat is `threshold` old: a thread that
                # wakes for nothing takes the GIL from the loop (a few times a second
                # instead of every heartbeat).
                wait = max(self.interval, self._beat + self.threshold - now)
                expected = now + wait
                continue
            wait = self.interval  # in an episode: where the loop thread is, every interval
            expected = now + wait
            # The system call first, then the bytecode: a call that ended in between shows
            # as a moved bytecode, so a call is only named for the stretch it was seen in.
            waiting = _waiting_in(self._loop_native_id)
            frame = sys._current_frames().get(self._loop_thread or 0)
            position = (id(frame.f_code), frame.f_lasti) if frame is not None else None
            if episode is None:
                started, cpu_at_start = self._beat, self._beat_cpu
                episode_late = 0.0
                where, route_id = _blame(frame)
                episode = LoopBlock(held, where, route_id, time.time(), threshold=self.threshold)
                self.blocks.append(episode)
                # Seen at one bytecode since the block began, as far as can be told.
                last_position, still_since = position, started
            elif position != last_position:
                last_position, still_since = position, now
            if now - still_since >= episode.stuck_seconds:  # the longest stretch so far
                episode.stuck_seconds = now - still_since
                episode.waiting_in = waiting or episode.waiting_in
            del frame
            episode.seconds = held
            episode.cpu_seconds = self._loop_cpu() - cpu_at_start
            episode_late += max(0.0, late)
            # Starved: the watchdog itself kept waiting (for a CPU or the GIL) as well.
            episode.starved = episode_late > episode.seconds / 4

    def _report(self, episode: LoopBlock) -> None:
        if not episode.blocking:
            log.info("the event loop lagged on a busy host: %s", episode.describe())
            return
        log.warning("the event loop was blocked for %s", episode.describe())
        if self.on_block is not None:
            self.on_block(episode)
