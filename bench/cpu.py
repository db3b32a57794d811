"""What the server spent: CPU time of a process and every process below it, from /proc.

Wall-clock throughput moves with whatever else the machine is doing; CPU time per request
moves far less: it is the figure the report compares configurations by. Two readings:
every thread's run time in nanoseconds (/proc/<pid>/task/<tid>/schedstat), precise even
for a burst of ten requests; and the processes' user and system time in clock ticks
(utime, stime, and cutime and cstime for children they reaped), which also holds the
time of threads and processes that ended in the window. The precise figure is used when
no thread of the tree ended in the window, the ticks otherwise.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Self

TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


def _stat_fields(path: Path) -> list[str] | None:
    """A stat(5) file after the command name (which may hold spaces and parentheses)."""
    try:
        return path.read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def process_tree(pid: int) -> list[int]:
    """`pid` and every live descendant of it (by parent pid, from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(entry / "stat")
        if fields is not None and fields[0] != "Z":
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    tree, pending = [], [pid]
    while pending:
        current = pending.pop()
        tree.append(current)
        pending.extend(children.get(current, []))
    return tree


@dataclass(frozen=True)
class CpuReading:
    """The tree's CPU so far: ticks by process (user, system, reaped children's user +
    system), and nanoseconds on the CPU by thread."""

    ticks: dict[int, tuple[int, int, int]]
    thread_ns: dict[tuple[int, int], int]


def read_tree(pid: int) -> CpuReading:
    ticks: dict[int, tuple[int, int, int]] = {}
    thread_ns: dict[tuple[int, int], int] = {}
    for member in process_tree(pid):
        fields = _stat_fields(Path(f"/proc/{member}/stat"))
        if fields is None:
            continue
        # utime, stime, cutime, cstime: fields 14-17 of stat(5), 12-15 here.
        ticks[member] = (int(fields[11]), int(fields[12]), int(fields[13]) + int(fields[14]))
        try:
            tasks = list(Path(f"/proc/{member}/task").iterdir())
        except OSError:
            continue
        for task in tasks:
            try:
                thread_ns[(member, int(task.name))] = int(
                    (task / "schedstat").read_text().split()[0]
                )
            except (OSError, ValueError, IndexError):
                continue
    return CpuReading(ticks, thread_ns)


@dataclass(frozen=True)
class CpuUsage:
    """What the tree used between two readings."""

    total_s: float
    user_s: float  # in ticks: the split is only as fine as 1/100 s
    system_s: float
    precise: bool  # total_s from the threads' nanoseconds, not from the ticks


def usage_between(start: CpuReading, end: CpuReading) -> CpuUsage:
    user = system = children = 0
    for pid, (u, s, c) in end.ticks.items():
        u0, s0, c0 = start.ticks.get(pid, (0, 0, 0))
        user, system, children = user + u - u0, system + s - s0, children + c - c0
    # A process that ended took its ticks along unless its parent reaped it (cutime);
    # either way its threads' nanoseconds are gone with it.
    ended = any(key not in end.thread_ns for key in start.thread_ns)
    precise = not ended and children == 0
    ticks_s = (user + system + children) / TICKS_PER_SECOND
    if precise:
        total = sum(ns - start.thread_ns.get(key, 0) for key, ns in end.thread_ns.items()) / 1e9
    else:
        total = ticks_s
    return CpuUsage(
        total_s=total,
        user_s=user / TICKS_PER_SECOND,
        system_s=system / TICKS_PER_SECOND,
        precise=precise,
    )


@dataclass
class CpuMeter:
    """`with CpuMeter(pid) as cpu: <load>`, then `cpu.used` and `cpu.per_request_ms(n)`."""

    pid: int
    used: CpuUsage = field(default_factory=lambda: CpuUsage(0.0, 0.0, 0.0, True))
    wall_s: float = 0.0
    _start: CpuReading | None = None
    _began: float = 0.0

    def __enter__(self) -> Self:
        self._start = read_tree(self.pid)
        self._began = time.monotonic()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._start is not None
        self.used = usage_between(self._start, read_tree(self.pid))
        self.wall_s = time.monotonic() - self._began

    def per_request_ms(self, requests: int) -> float | None:
        """None when nothing was read: a server that answered used some CPU, so a zero is
        a reading that failed (the process tree was not found), not a figure."""
        if requests <= 0 or self.used.total_s <= 0:
            return None
        return self.used.total_s * 1000 / requests

    def figures(self, requests: int) -> dict[str, float | int | bool | None]:
        """What a scenario's round records about the server's CPU."""
        return {
            "cpu_ms_per_request": self.per_request_ms(requests),
            "cpu_s": self.used.total_s,
            "cpu_user_s": self.used.user_s,
            "cpu_system_s": self.used.system_s,
            "cpu_precise": self.used.precise,
            "cpu_requests": requests,
            "cpu_window_s": self.wall_s,
        }
