"""The harness's CPU figure: the server's process tree, its workers and their reaped
children included, over the measured window only, and finer than the kernel's ticks."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from bench.cpu import CpuMeter, process_tree

BURN_S = 0.4
TICK_S = 0.01

# A server stand-in that starts a worker. On the stdin and stdout they share, the worker
# says it is ready, waits for "go", burns the CPU time it is given and says so; then it
# stays alive, or exits and the parent reaps it (as a supervisor does with a dead worker).
PARENT = textwrap.dedent(
    """
    import subprocess, sys
    WORKER = '''
    import sys, time
    print("ready", flush=True)
    sys.stdin.readline()
    end = time.process_time() + float(sys.argv[2])
    while time.process_time() < end:
        pass
    print("burnt", flush=True)
    if sys.argv[1] == "stay":
        sys.stdin.readline()
    '''
    worker = subprocess.Popen([sys.executable, "-c", WORKER, sys.argv[1], sys.argv[2]])
    worker.wait()
    print("reaped", flush=True)
    sys.stdin.readline()
    """
)


@contextmanager
def server_with_a_worker(worker: str, burn_s: float = BURN_S) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(
        [sys.executable, "-c", PARENT, worker, str(burn_s)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdin is not None and process.stdout is not None
    try:
        assert process.stdout.readline().strip() == "ready"
        yield process
    finally:
        for pid in reversed(process_tree(process.pid)):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        process.stdin.close()
        process.stdout.close()
        process.wait(30)


def test_cpu_of_a_live_worker_counts_for_its_server() -> None:
    with server_with_a_worker("stay") as server:
        assert server.stdin is not None and server.stdout is not None
        assert len(process_tree(server.pid)) == 2
        with CpuMeter(server.pid) as cpu:
            server.stdin.write("go\n")
            server.stdin.flush()
            assert server.stdout.readline().strip() == "burnt"

    assert BURN_S - 0.05 <= cpu.used.total_s <= BURN_S + 0.5
    assert cpu.used.precise
    assert cpu.per_request_ms(100) == pytest.approx(cpu.used.total_s * 10)


def test_a_window_of_less_than_two_ticks_is_measured_to_the_millisecond() -> None:
    burn_s = 1.5 * TICK_S  # ticks would say 10 or 20 ms
    with server_with_a_worker("stay", burn_s) as server:
        assert server.stdin is not None and server.stdout is not None
        with CpuMeter(server.pid) as cpu:
            server.stdin.write("go\n")
            server.stdin.flush()
            assert server.stdout.readline().strip() == "burnt"

    assert cpu.used.precise
    assert burn_s - 0.001 <= cpu.used.total_s <= burn_s + 0.004


def test_cpu_of_a_worker_that_exited_in_the_window_still_counts() -> None:
    with server_with_a_worker("exit") as server:
        assert server.stdin is not None and server.stdout is not None
        with CpuMeter(server.pid) as cpu:
            server.stdin.write("go\n")
            server.stdin.flush()
            assert server.stdout.readline().strip() == "burnt"
            assert server.stdout.readline().strip() == "reaped"
            assert process_tree(server.pid) == [server.pid]

    assert not cpu.used.precise  # its threads are gone: the ticks, which kept its time
    assert BURN_S - 0.05 <= cpu.used.total_s <= BURN_S + 0.5


def test_cpu_spent_before_the_window_does_not_count() -> None:
    with server_with_a_worker("stay") as server:
        assert server.stdin is not None and server.stdout is not None
        server.stdin.write("go\n")
        server.stdin.flush()
        assert server.stdout.readline().strip() == "burnt"
        with CpuMeter(server.pid) as cpu:
            pass

    assert cpu.used.total_s < 0.05
    assert cpu.figures(0)["cpu_ms_per_request"] is None
