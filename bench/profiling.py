"""Where the time goes when a target is missed: py-spy on the server while the scenario's
own load runs again. A flame graph is saved under docs/benchmarks/, and the same samples
(recorded alongside as collapsed stacks) are summed by package and by function."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.cpu import CpuMeter
from bench.processes import ROOT
from bench.servers import Server

PY_SPY_MISSING = "py-spy is not installed (`pip install py-spy`): no profile was recorded"
_FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")


def py_spy_path() -> str | None:
    found = shutil.which("py-spy")
    if found:
        return found
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.exists() else None


@dataclass
class Profile:
    name: str
    config: str
    svg: str  # relative to docs/
    seconds: float
    samples: int = 0
    by_package: list[dict[str, Any]] = field(default_factory=list)  # self time
    by_function: list[dict[str, Any]] = field(default_factory=list)  # self time
    wall_s: float = 0.0
    user_s: float = 0.0  # the server's CPU time while it was recorded
    system_s: float = 0.0
    problem: str | None = None


def record(
    server: Server,
    *,
    name: str,
    out_dir: Path,
    seconds: float,
    load: Callable[[], None],
) -> Profile:
    """Record `server` (all its processes) for `seconds` while `load()` runs in a loop."""
    svg = out_dir / f"profile-{name}.svg"
    raw = out_dir / f".profile-{name}.txt"
    profile = Profile(name, server.config.name, f"benchmarks/{svg.name}", seconds)
    py_spy = py_spy_path()
    if py_spy is None:
        profile.problem = PY_SPY_MISSING
        return profile
    out_dir.mkdir(parents=True, exist_ok=True)

    def spy(fmt: str, output: Path) -> subprocess.Popen[str]:
        argv = [
            py_spy,
            "record",
            "--pid",
            str(server.process.pid),
            "--subprocesses",  # gunicorn and `uvicorn --workers N` serve from children
            "--duration",
            str(max(1, round(seconds))),
            "--rate",
            "100",
            "--nonblocking",  # never pause the server being measured
            "--gil",  # only the thread running Python: not threads waiting for the GIL
            "--full-filenames",
            "--format",
            fmt,
            "--output",
            str(output),
        ]
        return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    outputs = []
    with CpuMeter(server.process.pid) as meter:
        spies = [spy("flamegraph", svg), spy("raw", raw)]
        stop = threading.Event()
        loader = threading.Thread(target=_repeat, args=(load, stop), daemon=True)
        loader.start()
        try:
            for process in spies:
                outputs.append(process.communicate(timeout=seconds + 60)[0])
        finally:
            stop.set()
            for process in spies:
                if process.poll() is None:
                    process.kill()
                    process.wait()
            loader.join(seconds + 120)
    profile.wall_s = meter.wall_s
    profile.user_s, profile.system_s = meter.used.user_s, meter.used.system_s
    if not svg.exists() or not raw.exists():
        profile.problem = "py-spy failed: " + " | ".join(o.strip()[-300:] for o in outputs)
        return profile
    profile.samples, profile.by_package, profile.by_function = summarize(raw)
    raw.unlink(missing_ok=True)
    return profile


def _repeat(load: Callable[[], None], stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            load()
        except Exception:  # the profile is what matters here, not this request's fate
            stop.wait(0.2)


def summarize(raw: Path, *, limit: int = 10) -> tuple[int, list[dict], list[dict]]:
    """Self time by package and by function from py-spy's collapsed stacks."""
    packages: Counter[str] = Counter()
    functions: Counter[str] = Counter()
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        leaf = stack.split(";")[-1]
        match = _FRAME.match(leaf)
        function, file = (match["function"], match["file"]) if match else (leaf, "")
        if leaf.startswith(("process ", "thread ")):  # no Python frame: native code
            function, file = "(native code)", ""
        packages[package_of(file)] += count
        functions[f"{function} ({short_path(file)})"] += count

    def share(counter: Counter[str]) -> list[dict[str, Any]]:
        return [
            {"name": name, "samples": n, "percent": 100 * n / total if total else 0.0}
            for name, n in counter.most_common(limit)
        ]

    return total, share(packages), share(functions)


def package_of(file: str) -> str:
    """`sqlalchemy`, `asyncio`, `gateway`, ...: who owns the code a sample was in."""
    path = file.replace("\\", "/")
    if "site-packages/" in path:
        return path.split("site-packages/", 1)[1].split("/", 1)[0].removesuffix(".py")
    root = str(ROOT) + "/"
    if path.startswith(root):
        return path[len(root) :].split("/", 1)[0]
    if "/lib/python" in path:
        rest = path.split("/lib/python", 1)[1].split("/", 1)[-1]
        return "stdlib:" + rest.split("/", 1)[0].removesuffix(".py")
    return path or "(native code)"


def short_path(file: str) -> str:
    path = file.replace("\\", "/")
    for marker in ("site-packages/", str(ROOT) + "/"):
        if marker in path:
            return path.split(marker, 1)[1]
    return re.sub(r"^.*/lib/python3\.\d+/", "", path)
