"""The configurations under test: how each is started, and how much it can do at once.

Every configuration gets the same CPU budget (this machine, nothing pinned) and the same
data; what differs is the server, its workers and threads, and which half answers.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from bench.processes import ROOT

GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
UVICORN = str(Path(sys.executable).with_name("uvicorn"))
MANIFEST = ROOT / "migration_status.yaml"


@dataclass(frozen=True)
class Configuration:
    name: str
    label: str
    kind: str  # legacy | before | gateway | async_api | sleep | floor
    server: str  # gunicorn-sync | gunicorn-gthread | gunicorn-gevent | uvicorn
    workers: int
    threads: int = 1  # per worker: gthread threads, a2wsgi threads, gevent connections
    manifest: str | None = None  # gateway only: legacy | async | shadow | retired
    env: dict[str, str] = field(default_factory=dict)  # on top of the scenario's settings
    note: str = ""

    @property
    def app(self) -> str:
        return {
            "legacy": "legacy_flask.wsgi:app",
            "before": "bench.baseline_run_async:app",
            "gateway": "gateway.asgi:app",
            "async_api": "async_api.asgi:app",
            "sleep": "bench.sleep_app:app",
            "floor": "bench.floor_app:app",
        }[self.kind]

    @property
    def ready_path(self) -> str:
        return "/ready" if self.kind in ("sleep", "floor") else "/api/health"

    @property
    def slots(self) -> int | None:
        """Requests that can wait on the database at once; None: bounded by the pool only."""
        if self.server == "gunicorn-sync":
            return self.workers
        if self.server in ("gunicorn-gthread", "gunicorn-gevent"):
            return self.workers * self.threads
        if self.kind == "gateway" and self.manifest in ("legacy", "shadow"):
            return self.workers * self.threads
        return None

    @property
    def shape(self) -> str:
        """Workers x threads, in words, for the report."""
        if self.server == "gunicorn-sync":
            return f"{self.workers} sync worker(s), 1 request each"
        if self.server == "gunicorn-gthread":
            return f"{self.workers} worker(s) x {self.threads} threads"
        if self.server == "gunicorn-gevent":
            return f"{self.workers} worker(s) x {self.threads} greenlets"
        if self.kind == "gateway" and self.manifest in ("legacy", "shadow"):
            return f"{self.workers} worker(s): 1 event loop + {self.threads} a2wsgi threads"
        return f"{self.workers} worker(s), 1 event loop each"

    def argv(self, port: int) -> list[str]:
        bind = f"127.0.0.1:{port}"
        if self.server.startswith("gunicorn"):
            argv = [
                GUNICORN,
                "--bind",
                bind,
                "--workers",
                str(self.workers),
                "--timeout",
                "300",
                "--graceful-timeout",
                "5",
                "--log-level",
                "warning",
                *control_socket_off(),
            ]
            if self.server == "gunicorn-gthread":
                argv += ["--worker-class", "gthread", "--threads", str(self.threads)]
            elif self.server == "gunicorn-gevent":
                argv += ["--worker-class", "gevent", "--worker-connections", str(self.threads)]
            else:
                argv += ["--worker-class", "sync"]
            return [*argv, self.app]
        return [
            UVICORN,
            self.app,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(self.workers),
            "--log-level",
            "warning",
            "--no-access-log",
            "--timeout-graceful-shutdown",
            "5",
        ]

    def command(self) -> str:
        """The command line, as the report shows it (PORT for the port)."""
        return (
            " ".join(a if not a.startswith("/") else Path(a).name for a in self.argv(0))
            .replace("127.0.0.1:0", "127.0.0.1:PORT")
            .replace("--port 0", "--port PORT")
        )


@cache
def control_socket_off() -> tuple[str, ...]:
    """gunicorn 27 opens a control socket at one fixed path (~/.gunicorn/gunicorn.ctl) for
    every master on the machine; turn it off where the option exists."""
    try:
        text = subprocess.run(
            [GUNICORN, "--help"], capture_output=True, text=True, timeout=60
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return ()
    return ("--no-control-socket",) if "--no-control-socket" in text else ()


def _gunicorn(name: str, server: str, workers: int, threads: int = 1, **kw: Any) -> Configuration:
    words = {"gunicorn-sync": "sync", "gunicorn-gthread": "gthread", "gunicorn-gevent": "gevent"}
    label = f"legacy Flask, gunicorn {words[server]}, {workers}w"
    if server != "gunicorn-sync":
        label += f" x {threads}"
    return Configuration(name, label, "legacy", server, workers, threads, **kw)


CONFIGURATIONS: dict[str, Configuration] = {
    c.name: c
    for c in (
        _gunicorn("legacy-sync-1", "gunicorn-sync", 1),
        _gunicorn("legacy-sync-2", "gunicorn-sync", 2),
        _gunicorn("legacy-gthread-1x32", "gunicorn-gthread", 1, 32),
        _gunicorn("legacy-gthread-2x16", "gunicorn-gthread", 2, 16),
        _gunicorn(
            "legacy-gevent-1",
            "gunicorn-gevent",
            1,
            1000,
            note="monkey-patched; the bridge's loop thread becomes a greenlet",
        ),
        Configuration(
            "before-run-async-1",
            "before: Flask + the audit's run_async(), gunicorn sync, 1w",
            "before",
            "gunicorn-sync",
            1,
            note="a new event loop, engine and connection per DB call",
        ),
        Configuration(
            "before-run-async-gevent-1",
            "before + gevent: Flask + run_async(), gunicorn gevent, 1w x 1000",
            "before",
            "gunicorn-gevent",
            1,
            1000,
            note="run_async() under gevent: every greenlet shares the OS thread's running loop",
        ),
        Configuration(
            "gateway-legacy-1",
            "gateway, every route legacy, 1w",
            "gateway",
            "uvicorn",
            1,
            32,
            manifest="legacy",
        ),
        Configuration(
            "gateway-legacy-2",
            "gateway, every route legacy, 2w",
            "gateway",
            "uvicorn",
            2,
            32,
            manifest="legacy",
        ),
        Configuration(
            "gateway-async-1",
            "gateway, every route async, 1w",
            "gateway",
            "uvicorn",
            1,
            32,
            manifest="async",
        ),
        Configuration(
            "gateway-async-2",
            "gateway, every route async, 2w",
            "gateway",
            "uvicorn",
            2,
            32,
            manifest="async",
        ),
        Configuration(
            "gateway-async-1-pool10",
            "gateway, every route async, 1w, default pool (10 connections, no overflow)",
            "gateway",
            "uvicorn",
            1,
            32,
            manifest="async",
            env={"DB_POOL_SIZE": "10"},
        ),
        Configuration(
            "gateway-async-1-ingest20",
            "gateway, every route async, 1w, INGEST_CONCURRENCY=20",
            "gateway",
            "uvicorn",
            1,
            32,
            manifest="async",
            env={"INGEST_CONCURRENCY": "20"},
        ),
        Configuration(
            "gateway-shadow-1",
            "gateway, legacy + news.latest_news on shadow (rate 1), 1w",
            "gateway",
            "uvicorn",
            1,
            32,
            manifest="shadow",
        ),
        Configuration(
            "gateway-retired-1",
            "gateway with Flask not loaded (legacy_half: retired), every route async, 1w",
            "gateway",
            "uvicorn",
            1,
            manifest="retired",
            note="Flask never imported: no a2wsgi mount, no WSGI threads",
        ),
        Configuration("async-api-1", "bare async_api (no gateway), 1w", "async_api", "uvicorn", 1),
        Configuration("async-api-2", "bare async_api (no gateway), 2w", "async_api", "uvicorn", 2),
        Configuration(
            "sleep-1", "bare FastAPI endpoint that only sleeps, 1w", "sleep", "uvicorn", 1
        ),
        Configuration(
            "floor-1",
            "the floor: minimal FastAPI, the same queries on the same driver, orjson, 1w",
            "floor",
            "uvicorn",
            1,
            note="the frontend's hot path only (five read routes); bench/floor_app.py",
        ),
    )
}


def implemented_async_routes() -> set[str] | None:
    """Route ids the async half implements, or None when it cannot be imported right now."""
    try:
        from async_api.app import async_routes

        return set(async_routes())
    except Exception:
        return None


def write_manifest(kind: str, directory: Path) -> tuple[Path, dict[str, Any]]:
    """A copy of migration_status.yaml with every status rewritten; returns what changed.
    `retired` is every route on async with `legacy_half: retired`: Flask is not loaded
    (a route the async half lacks would make the gateway refuse to start, and say why)."""
    data = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    if kind == "retired":
        data = {"version": data["version"], "legacy_half": "retired", **data}
    routes: dict[str, dict[str, Any]] = data["routes"]
    implemented = implemented_async_routes() if kind == "async" else None
    kept_legacy = []
    for route_id, entry in routes.items():
        entry.pop("percent", None)
        if kind == "retired":
            entry["status"] = "async"
        elif kind == "async":
            if implemented is None or route_id in implemented or not entry.get("legacy_file"):
                entry["status"] = "async"
            else:
                entry["status"] = "legacy"
                kept_legacy.append(route_id)
        elif kind == "shadow" and route_id == "news.latest_news":
            entry["status"] = "shadow"
            entry["shadow"] = {**(entry.get("shadow") or {}), "sample_rate": 1.0}
        else:
            entry["status"] = "legacy" if entry.get("legacy_file") else "async"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"manifest-{kind}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path, {"routes": len(routes), "kept_legacy": kept_legacy}
