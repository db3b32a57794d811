"""Every process the harness starts: its own process group, its log, and a stop that
leaves nothing behind (SIGTERM to the group, SIGKILL after a grace period)."""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

ROOT = Path(__file__).resolve().parent.parent
STOP_GRACE_SECONDS = 10.0


class StartFailed(RuntimeError):
    """A server did not come up; the message ends with the tail of its log."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def process_group_members(pgid: int) -> list[int]:
    """Live pids in process group `pgid`, read from /proc (zombies excluded)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        state, group = fields[0], int(fields[2])
        if group == pgid and state != "Z":
            members.append(int(entry.name))
    return members


def children_of(pid: int) -> list[int]:
    """Live direct children of `pid`, from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(entry.name))
    return found


@dataclass
class ManagedProcess:
    """One started process group: the leader's Popen and where its output goes."""

    name: str
    argv: Sequence[str]
    log_path: Path
    popen: subprocess.Popen[bytes]
    started_at: float = field(default_factory=time.monotonic)

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def pgid(self) -> int:
        return self.popen.pid  # start_new_session: the leader's pid is the group id

    def alive(self) -> bool:
        return self.popen.poll() is None

    def worker_pids(self) -> list[int]:
        """The leader and every live process of its group (gunicorn/uvicorn workers)."""
        return sorted(
            set(process_group_members(self.pgid)) | ({self.pid} if self.alive() else set())
        )

    def log_tail(self, lines: int = 25) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """SIGTERM to the whole group; SIGKILL whatever is left after `grace` seconds."""
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pgid, signal.SIGTERM)
            try:
                self.popen.wait(grace)
            except subprocess.TimeoutExpired:
                pass
        deadline = time.monotonic() + grace
        while process_group_members(self.pgid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if process_group_members(self.pgid) or self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pgid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(5)


class ProcessRegistry:
    """The harness's bookkeeping: every process group it started, stopped in `finally`."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self._running: dict[int, ManagedProcess] = {}
        self.started_pgids: list[int] = []
        self._lock = threading.Lock()

    def start(
        self, name: str, argv: Sequence[str], *, env: Mapping[str, str], log_name: str | None = None
    ) -> ManagedProcess:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.log_dir / f"{log_name or name}.log"
        with open(log_path, "ab") as log:
            popen = subprocess.Popen(
                list(argv),
                cwd=ROOT,
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stopped as one
            )
        process = ManagedProcess(name=name, argv=argv, log_path=log_path, popen=popen)
        with self._lock:
            self._running[process.pid] = process
            self.started_pgids.append(process.pgid)
        return process

    def stop(self, process: ManagedProcess) -> None:
        process.stop()
        with self._lock:
            self._running.pop(process.pid, None)

    def stop_all(self) -> None:
        with self._lock:
            running = list(self._running.values())
        threads = [threading.Thread(target=self.stop, args=(p,)) for p in running]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def running(self) -> list[ManagedProcess]:
        with self._lock:
            return list(self._running.values())

    def leftovers(self) -> dict[int, list[int]]:
        """Process groups the harness started that still have a live member."""
        left = {}
        for pgid in self.started_pgids:
            members = process_group_members(pgid)
            if members:
                left[pgid] = members
        return left


def wait_until_answers(
    process: ManagedProcess, port: int, path: str, *, timeout: float = 90.0
) -> None:
    """Poll `GET path` until a 2xx answer; fail early if the process dies."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if not process.alive():
            raise StartFailed(
                f"{process.name} exited with {process.popen.returncode}:\n{process.log_tail()}"
            )
        try:
            status = http_get_status(port, path, timeout=5)
            if 200 <= status < 300:
                return
            last = f"HTTP {status}"
        except OSError as exc:
            last = type(exc).__name__
        time.sleep(0.2)
    raise StartFailed(
        f"{process.name} did not answer {path} in {timeout:g} s ({last}):\n{process.log_tail()}"
    )


def http_get_status(port: int, path: str, *, timeout: float = 10.0) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


class Interrupted(KeyboardInterrupt):
    """SIGTERM or SIGHUP arrived: unwind through every `finally` as Ctrl-C does (and,
    being a KeyboardInterrupt, out of event loops too, which log other exceptions)."""


def raise_on_termination() -> None:
    """Turn SIGTERM/SIGHUP into an exception so `finally` blocks stop what was started."""

    def handler(signum: int, _frame: FrameType | None) -> None:
        raise Interrupted(signal.Signals(signum).name)

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGHUP, handler)
        # Ctrl-C stops the run even when started in the background (SIGINT ignored).
        signal.signal(signal.SIGINT, signal.default_int_handler)
