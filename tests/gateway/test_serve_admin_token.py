"""`python -m gateway serve` in development without ADMIN_TOKEN prints a token made for the
run, and `/admin/` works with it at once; an ADMIN_TOKEN that is set is used as it is, and
production never gets a made-up one."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.conftest import ROOT

RUN_TOKEN = re.compile(r"admin token for this run: (\S+)")


@contextmanager
def served(tmp_path: Path, **env: str) -> Iterator[tuple[str, str]]:
    """The gateway as `make run` starts it, on a SQLite file of its own: its base URL, and
    what it printed until it answered."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    environment = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'served.db'}",
        "MIGRATION_MANIFEST": str(ROOT / "migration_status.yaml"),
        "PYTHONPATH": str(ROOT),
        **env,
    }
    for name in ("ADMIN_TOKEN", "ENVIRONMENT", "DEMO_DATA"):
        if name not in env:
            environment.pop(name, None)
    server = subprocess.Popen(
        [sys.executable, "-m", "gateway", "serve", "--port", str(port)],
        cwd=tmp_path,  # away from any .env in the checkout
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []

    def read() -> None:
        assert server.stdout is not None
        for line in server.stdout:
            lines.append(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        base, deadline = f"http://127.0.0.1:{port}", time.monotonic() + 60
        while True:
            try:
                httpx.get(base + "/api/version", timeout=1)
                break
            except httpx.TransportError:
                assert server.poll() is None, "serve exited:\n" + "".join(lines)
                assert time.monotonic() < deadline, "serve did not answer:\n" + "".join(lines)
                time.sleep(0.1)
        yield base, "".join(lines)
    finally:
        server.terminate()
        server.wait(30)
        reader.join(10)


def test_development_serve_prints_an_admin_token_that_opens_the_admin_api(
    tmp_path: Path,
) -> None:
    with served(tmp_path) as (base, printed):
        found = RUN_TOKEN.search(printed)
        assert found, printed
        token = found.group(1)
        assert len(token) >= 32
        with httpx.Client(base_url=base, timeout=30) as client:
            stats = client.get("/admin/api/stats", headers={"Authorization": f"Bearer {token}"})
            assert stats.status_code == 200, stats.text
            assert "news" in stats.json()
            anonymous = client.get("/admin/api/stats")
            assert anonymous.status_code == 401
            assert anonymous.json()["error"]["code"] == "unauthorized"
            wrong = client.get("/admin/api/stats", headers={"Authorization": "Bearer nope"})
            assert wrong.status_code == 401
            assert client.get("/admin/").status_code == 200


def test_a_set_admin_token_is_kept_and_production_gets_no_made_up_one(tmp_path: Path) -> None:
    chosen = "a-production-admin-token-of-real-length-0123456789"
    production = {"ENVIRONMENT": "production", "ADMIN_TOKEN": chosen, "DEMO_DATA": "false"}
    with served(tmp_path, **production) as (base, printed):
        assert "admin token for this run" not in printed
        assert chosen not in printed
        with httpx.Client(base_url=base, timeout=30) as client:
            allowed = client.get("/admin/api/stats", headers={"Authorization": f"Bearer {chosen}"})
            assert allowed.status_code == 200
            assert client.get("/admin/api/stats").status_code == 401
