"""What the figures were measured on: the machine, how busy it was, and the versions."""

from __future__ import annotations

import asyncio
import os
import platform
import sqlite3
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.databases import postgres_answers
from bench.loadgen import wrk_path

PACKAGES = (
    "fastapi",
    "starlette",
    "flask",
    "werkzeug",
    "uvicorn",
    "uvloop",
    "httptools",
    "gunicorn",
    "gevent",
    "a2wsgi",
    "sqlalchemy",
    "asyncpg",
    "aiosqlite",
    "pydantic",
    "httpx",
    "openai",
    "matplotlib",
    "py-spy",
)


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def memory_total() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return "?"


def versions(postgres_url: str | None) -> dict[str, str]:
    found = {"Python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    found["SQLite (library)"] = sqlite3.sqlite_version
    if postgres_url:
        found["PostgreSQL (server)"] = (
            asyncio.run(postgres_answers(postgres_url)) or "not reachable"
        )
    wrk = wrk_path()
    if wrk:
        out = subprocess.run([wrk, "--version"], capture_output=True, text=True, timeout=10)
        found["wrk"] = (out.stdout or out.stderr).split("[", 1)[0].replace("wrk", "").strip()
    else:
        found["wrk"] = "not installed"
    return found


def machine() -> dict[str, Any]:
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu_model(),
        "memory": memory_total(),
        "kernel": platform.release(),
    }
