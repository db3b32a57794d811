"""Load generators: wrk for throughput (the Python client when wrk is missing), and an
asyncio client for bursts ("N requests at once: how long until all are done")."""

from __future__ import annotations

import asyncio
import json
import math
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.processes import ROOT, ProcessRegistry

WRK_SCRIPT = ROOT / "bench" / "lua" / "workload.lua"
WRK_MISSING = (
    "wrk is not installed: throughput falls back to the Python client (slower, and it "
    "shares the CPU with the servers). Install it with `apt-get install -y wrk`."
)


def percentile(samples: Sequence[float], q: float) -> float:
    """Exact percentile of the samples (linear between closest ranks), q in [0, 100]."""
    if not samples:
        return math.nan
    ordered = sorted(samples)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class RequestSpec:
    """What one request of a workload is."""

    path: str
    method: str = "GET"
    json_body: Any = None
    headers: tuple[tuple[str, str], ...] = ()

    @property
    def body_text(self) -> str | None:
        return None if self.json_body is None else json.dumps(self.json_body)


@dataclass
class BurstResult:
    n: int
    total_s: float
    latencies_s: list[float]
    statuses: Counter[str] = field(default_factory=Counter)

    @property
    def succeeded(self) -> int:
        return sum(count for status, count in self.statuses.items() if status.startswith("2"))

    def figures(self) -> dict[str, Any]:
        return {
            "total_s": self.total_s,
            "p50_s": percentile(self.latencies_s, 50),
            "p99_s": percentile(self.latencies_s, 99),
            "max_s": max(self.latencies_s, default=math.nan),
            "n": self.n,
            "ok": self.succeeded,
            "statuses": dict(self.statuses),
        }


async def _raw_request(host: str, port: int, spec: RequestSpec, limit_s: float) -> str:
    """One HTTP/1.1 request on a connection of its own (`Connection: close`); its status."""
    body = (spec.body_text or "").encode()
    head = [f"{spec.method} {spec.path} HTTP/1.1", f"Host: {host}:{port}", "Connection: close"]
    head += [f"{name}: {value}" for name, value in spec.headers]
    if spec.json_body is not None:
        head += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), limit_s)
    try:
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        answer = await asyncio.wait_for(reader.read(), limit_s)  # until the server closes
    finally:
        writer.close()
    status_line = answer.split(b"\r\n", 1)[0].split()
    return status_line[1].decode() if len(status_line) > 1 else "no-answer"


async def _burst(
    base_url: str, spec: RequestSpec, n: int, limit_s: float, client: str
) -> BurstResult:
    statuses: Counter[str] = Counter()
    latencies: list[float] = []
    go = asyncio.Event()
    url = httpx.URL(base_url)
    host, port = url.host, url.port or 80
    limits = httpx.Limits(max_connections=n, max_keepalive_connections=n)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=limit_s) as http:

        async def send() -> str:
            if client == "raw":
                return await _raw_request(host, port, spec, limit_s)
            response = await http.request(
                spec.method, spec.path, json=spec.json_body, headers=dict(spec.headers)
            )
            await response.aread()
            return str(response.status_code)

        async def one() -> tuple[float, float]:
            await go.wait()
            started = time.perf_counter()
            try:
                statuses[await send()] += 1
            except (OSError, TimeoutError, httpx.HTTPError) as exc:
                statuses[type(exc).__name__] += 1
            ended = time.perf_counter()
            latencies.append(ended - started)
            return started, ended

        tasks = [asyncio.create_task(one()) for _ in range(n)]
        await asyncio.sleep(0)  # every task is waiting on `go`: they start together
        go.set()
        spans = await asyncio.gather(*tasks)
    total = max(end for _, end in spans) - min(start for start, _ in spans)
    return BurstResult(n=n, total_s=total, latencies_s=latencies, statuses=statuses)


def burst(
    base_url: str, spec: RequestSpec, n: int, *, timeout: float = 300.0, client: str = "raw"
) -> BurstResult:
    """Send `n` requests at once, one connection each, and wait for every answer.

    `client="raw"` writes HTTP/1.1 on asyncio streams; `"httpx"` uses httpx.AsyncClient
    with limits sized to `n`. At 1,000 at once httpx itself needs several seconds of CPU
    here (see the calibration in the report), which would hide what the server does.
    """
    return _run(_burst(base_url, spec, n, timeout, client))


async def _paced(base_url: str, spec: RequestSpec, rate: float, seconds: float) -> BurstResult:
    url = httpx.URL(base_url)
    host, port = url.host, url.port or 80
    statuses: Counter[str] = Counter()
    latencies: list[float] = []

    async def one(due: float) -> None:
        try:
            statuses[await _raw_request(host, port, spec, 60)] += 1
        except (OSError, TimeoutError) as exc:
            statuses[type(exc).__name__] += 1
        latencies.append(time.perf_counter() - due)  # from when it was due: no omission

    count = max(1, round(rate * seconds))
    started = time.perf_counter()
    tasks = []
    for index in range(count):
        due = started + index / rate
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        tasks.append(asyncio.create_task(one(due)))
    await asyncio.gather(*tasks)
    return BurstResult(count, time.perf_counter() - started, latencies, statuses)


def paced(base_url: str, spec: RequestSpec, *, rate: float, seconds: float) -> BurstResult:
    """Open loop: one request every 1/rate s for `seconds`, whatever the answers do;
    latency counts from when each request was due."""
    return _run(_paced(base_url, spec, rate, seconds))


def sequential(
    base_url: str, spec: RequestSpec, count: int, *, timeout: float = 120.0
) -> BurstResult:
    """`count` requests one after another: the latency of one request on an idle server."""
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    started = time.perf_counter()
    with httpx.Client(base_url=base_url, timeout=timeout) as client:
        for _ in range(count):
            t0 = time.perf_counter()
            try:
                response = client.request(
                    spec.method, spec.path, json=spec.json_body, headers=dict(spec.headers)
                )
                statuses[str(response.status_code)] += 1
            except httpx.HTTPError as exc:
                statuses[type(exc).__name__] += 1
            latencies.append(time.perf_counter() - t0)
    return BurstResult(count, time.perf_counter() - started, latencies, statuses)


def _run(coro: Any) -> Any:
    try:
        import uvloop
    except ImportError:  # the plain loop is fine, only a little slower
        return asyncio.run(coro)
    return uvloop.run(coro)


# -- throughput ------------------------------------------------------------------------------


@dataclass
class ThroughputResult:
    tool: str
    connections: int
    duration_s: float
    requests: int
    errors: int  # non-2xx/3xx answers and socket errors
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.duration_s if self.duration_s else 0.0

    def figures(self) -> dict[str, Any]:
        return {
            "rps": self.rps,
            "p50_ms": self.p50_ms,
            "p90_ms": self.p90_ms,
            "p99_ms": self.p99_ms,
            "max_ms": self.max_ms,
            "requests": self.requests,
            "errors": self.errors,
            "tool": self.tool,
            "connections": self.connections,
        }


def wrk_path() -> str | None:
    return shutil.which("wrk")


def throughput(
    registry: ProcessRegistry,
    base_url: str,
    specs: Sequence[RequestSpec],
    *,
    connections: int,
    duration: float,
    force_python: bool = False,
) -> ThroughputResult:
    """Closed-loop load for `duration` seconds on `connections` connections."""
    if wrk_path() and not force_python:
        return _wrk(registry, base_url, specs, connections=connections, duration=duration)
    return _run(_python_load(base_url, specs, connections=connections, duration=duration))


def _wrk(
    registry: ProcessRegistry,
    base_url: str,
    specs: Sequence[RequestSpec],
    *,
    connections: int,
    duration: float,
) -> ThroughputResult:
    first = specs[0]
    env = {"PATH": "/usr/bin:/bin", "BENCH_METHOD": first.method}
    if first.body_text is not None:
        env["BENCH_BODY"] = first.body_text
    for name, value in first.headers:
        if name.lower() == "authorization":
            env["BENCH_AUTHORIZATION"] = value
    with tempfile.NamedTemporaryFile("w", suffix=".paths", delete=False) as paths:
        paths.write("\n".join(spec.path for spec in specs) + "\n")
    env["BENCH_PATHS_FILE"] = paths.name
    argv = [
        wrk_path() or "wrk",
        "--threads",
        "1",
        "--connections",
        str(connections),
        "--duration",
        f"{max(1, round(duration))}s",
        "--timeout",
        "30s",
        "--latency",
        "--script",
        str(WRK_SCRIPT),
        base_url + first.path,
    ]
    process = registry.start("wrk", argv, env=env, log_name=f"wrk-{time.time_ns()}")
    try:
        process.popen.wait(duration + 60)
    finally:
        registry.stop(process)
        Path(paths.name).unlink(missing_ok=True)
    output = process.log_path.read_text(errors="replace")
    process.log_path.unlink(missing_ok=True)
    line = next((ln for ln in output.splitlines() if ln.startswith("BENCH_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk gave no figures:\n{output[-2000:]}")
    data = json.loads(line.removeprefix("BENCH_JSON "))
    errors = sum(
        data[k]
        for k in ("connect_errors", "read_errors", "write_errors", "status_errors", "timeouts")
    )
    return ThroughputResult(
        tool="wrk",
        connections=connections,
        duration_s=data["duration_us"] / 1e6,
        requests=data["requests"],
        errors=errors,
        p50_ms=data["p50_us"] / 1000,
        p90_ms=data["p90_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        max_ms=data["max_us"] / 1000,
    )


async def _python_load(
    base_url: str, specs: Sequence[RequestSpec], *, connections: int, duration: float
) -> ThroughputResult:
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    latencies: list[float] = []
    errors = 0
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30) as client:
        started = time.perf_counter()
        deadline = started + duration

        async def worker(offset: int) -> None:
            nonlocal errors
            turn = offset
            while time.perf_counter() < deadline:
                spec = specs[turn % len(specs)]
                turn += 1
                t0 = time.perf_counter()
                try:
                    response = await client.request(
                        spec.method, spec.path, json=spec.json_body, headers=dict(spec.headers)
                    )
                    if response.status_code >= 400:
                        errors += 1
                except httpx.HTTPError:
                    errors += 1
                latencies.append(time.perf_counter() - t0)

        await asyncio.gather(*(worker(i) for i in range(connections)))
        elapsed = time.perf_counter() - started
    ms = [s * 1000 for s in latencies]
    return ThroughputResult(
        tool="python",
        connections=connections,
        duration_s=elapsed,
        requests=len(latencies),
        errors=errors,
        p50_ms=percentile(ms, 50),
        p90_ms=percentile(ms, 90),
        p99_ms=percentile(ms, 99),
        max_ms=max(ms, default=math.nan),
    )
