"""Manifest edits take effect without a restart: file changes and SIGHUP, every worker."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT, make_settings
from tests.support.gateway_server import GatewayServer

LATEST = "/api/news/latest"


def flip(manifest: Path, route_id: str, status: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "gateway", "flip", route_id, status, "--manifest", str(manifest)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def served_by(client: httpx.Client) -> str:
    return client.get(LATEST, params={"limit": 1}).headers["x-served-by"]


def wait_for_side(client: httpx.Client, side: str, seconds: float = 8) -> float:
    started = time.monotonic()
    while served_by(client) != side:
        assert time.monotonic() - started < seconds, f"still not {side} after {seconds}s"
        time.sleep(0.05)
    return time.monotonic() - started


@pytest.fixture
def manifest_copy(tmp_path: Path) -> Path:
    path = tmp_path / "migration_status.yaml"
    path.write_text((ROOT / "migration_status.yaml").read_text())
    flip(path, "news.latest_news", "legacy")
    return path


def test_flip_keeps_comments_and_order(manifest_copy: Path) -> None:
    before = manifest_copy.read_text()
    result = flip(manifest_copy, "news.latest_news", "canary")
    assert result.returncode == 1 and "canary needs --percent" in result.stdout
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "gateway",
            "flip",
            "news.latest_news",
            "canary",
            "--percent",
            "30",
            "--manifest",
            str(manifest_copy),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout
    after = manifest_copy.read_text()
    changed = [
        (a, b) for a, b in zip(before.splitlines(), after.splitlines(), strict=False) if a != b
    ]
    assert changed[0] == ("    status: legacy", "    status: canary")
    assert "    percent: 30" in after.splitlines()
    assert len(after.splitlines()) == len(before.splitlines()) + 1
    assert after.startswith("# Which half answers each route.")


def test_a_file_change_takes_effect_without_a_restart(
    database_url: str, manifest_copy: Path
) -> None:
    settings = make_settings(
        database_url, migration_manifest=str(manifest_copy), manifest_poll_seconds=0.2
    )
    with GatewayServer(settings) as server, httpx.Client(base_url=server.url) as client:
        assert served_by(client) == "legacy"
        old_version = client.get("/_gateway/status").json()["manifest"]["version"]
        assert flip(manifest_copy, "news.latest_news", "async").returncode == 0
        wait_for_side(client, "async")
        status = client.get("/_gateway/status").json()
        assert status["manifest"]["version"] != old_version
        assert status["manifest"]["version"] in client.get("/_gateway/").text


def test_a_broken_manifest_is_rejected_and_the_last_good_one_stays(
    database_url: str, manifest_copy: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(
        database_url, migration_manifest=str(manifest_copy), manifest_poll_seconds=0.2
    )
    with GatewayServer(settings) as server, httpx.Client(base_url=server.url) as client:
        version = client.get("/_gateway/status").json()["manifest"]["version"]
        with caplog.at_level(logging.ERROR, logger="gateway.watch"):
            text = manifest_copy.read_text().replace("status: legacy", "status: sideways", 1)
            manifest_copy.write_text(text)
            deadline = time.monotonic() + 8
            while not client.get("/_gateway/status").json()["manifest"]["error"]:
                assert time.monotonic() < deadline
                time.sleep(0.1)
        status = client.get("/_gateway/status").json()
        assert status["manifest"]["version"] == version
        assert "unknown status 'sideways'" in status["manifest"]["error"]
        assert "Manifest rejected" in client.get("/_gateway/").text
        assert any("manifest rejected, keeping version" in r.message for r in caplog.records)
        assert served_by(client) == "legacy"


def _serve(manifest: Path, tmp_path: Path, *extra: str, env: dict[str, str]) -> tuple:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    environment = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'reload.db'}",
        "MIGRATION_MANIFEST": str(manifest),
        **env,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway", "serve", "--port", str(port), *extra],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10)
    deadline = time.monotonic() + 60
    while True:
        try:
            client.get("/_gateway/status")
            return process, client
        except httpx.HTTPError:
            assert process.poll() is None and time.monotonic() < deadline, "serve did not start"
            time.sleep(0.2)


def test_sighup_reloads_at_once(manifest_copy: Path, tmp_path: Path) -> None:
    # Polling every 60 s: only the signal can explain a quick change.
    process, client = _serve(manifest_copy, tmp_path, env={"MANIFEST_POLL_SECONDS": "60"})
    try:
        assert served_by(client) == "legacy"
        assert flip(manifest_copy, "news.latest_news", "async").returncode == 0
        time.sleep(0.5)
        assert served_by(client) == "legacy"
        process.send_signal(signal.SIGHUP)
        assert wait_for_side(client, "async", seconds=3) < 3
    finally:
        client.close()
        process.terminate()
        process.wait(30)


def test_every_worker_follows_the_file_within_seconds(manifest_copy: Path, tmp_path: Path) -> None:
    process, client = _serve(
        manifest_copy, tmp_path, "--workers", "2", env={"MANIFEST_POLL_SECONDS": "0.5"}
    )
    try:
        pids: set[int] = set()
        deadline = time.monotonic() + 30
        while len(pids) < 2 and time.monotonic() < deadline:
            # A new connection each time: the kernel hands it to either worker.
            status = httpx.get(f"{client.base_url}/_gateway/status", timeout=10).json()
            pids.add(status["runtime"]["pid"])
        assert len(pids) == 2, "expected two workers answering"
        assert flip(manifest_copy, "news.latest_news", "async").returncode == 0
        time.sleep(3)
        # New connections land on either worker; every one of them must be on async now.
        sides = set()
        for _ in range(30):
            with httpx.Client(base_url=client.base_url, timeout=10) as fresh:
                sides.add(served_by(fresh))
        assert sides == {"async"}
    finally:
        client.close()
        process.terminate()
        process.wait(30)
