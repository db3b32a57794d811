"""Retiring Flask (issue 14): `legacy_half: retired` serves every catalogue route with Flask
never imported, and `python -m gateway retire` says which legacy files may be deleted."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from gateway.manifest import load_manifest
from tests.conftest import ADMIN_TOKEN, ROOT

MANIFEST = ROOT / "migration_status.yaml"


def retired_copy(directory: Path, *, legacy_route: str | None = None) -> Path:
    text = MANIFEST.read_text(encoding="utf-8").replace(
        "version: 1\n", "version: 1\nlegacy_half: retired\n", 1
    )
    if legacy_route is not None:  # one route still on Flask
        document = yaml.safe_load(text)
        document["routes"][legacy_route]["status"] = "legacy"
        text = yaml.safe_dump(document, sort_keys=False)
    path = directory / "migration_status.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve(manifest: Path, database: Path, port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "MIGRATION_MANIFEST": str(manifest),
        "DATABASE_URL": f"sqlite:///{database}",
        "DEMO_DATA": "true",
        "ADMIN_TOKEN": ADMIN_TOKEN,
        "RATE_LIMIT_STORAGE_URL": "memory://",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return subprocess.Popen(
        [sys.executable, "-m", "gateway", "serve", "--port", str(port), "--log-level", "warning"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.fixture(scope="module")
def retired_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    directory = tmp_path_factory.mktemp("retired")
    port = free_port()
    process = serve(retired_copy(directory), directory / "gateway.db", port)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    try:
        while True:
            if process.poll() is not None:
                raise AssertionError(process.stdout.read() if process.stdout else "exited")
            try:
                if httpx.get(f"{url}/api/version", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("the retired gateway did not start")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(30)


def concrete(path: str) -> str:
    """A catalogue rule with its parameters filled in: `<int:news_id>` -> 1."""
    return re.sub(r"<(?:int:)?([a-z_]+)>", lambda m: "1" if "int:" in m.group(0) else "x", path)


def test_every_catalogue_get_answers_with_flask_never_loaded(retired_gateway: str) -> None:
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    gets = [e for e in load_manifest(MANIFEST).entries.values() if e.method == "GET"]
    assert len(gets) > 40
    with httpx.Client(base_url=retired_gateway, timeout=30, headers=headers) as client:
        for entry in gets:
            with client.stream("GET", concrete(entry.path), params={"user_id": 1}) as answer:
                assert answer.status_code < 500, (entry.id, answer.status_code)
                assert answer.headers["x-served-by"] == "async", entry.id
                assert answer.headers["x-route-id"] == entry.id
        unlisted = client.get("/not/in/the/catalogue")
        assert unlisted.status_code == 404
        assert unlisted.json() == {"error": {"code": "not_found", "message": "no such endpoint"}}
        runtime = client.get("/_gateway/status").json()["runtime"]
    assert runtime["legacy_half"] == "retired"
    assert runtime["flask_imported"] is False
    assert not [name for name in runtime["thread_names"] if name.startswith("WSGI")]  # a2wsgi


def test_the_gateway_refuses_to_start_retired_while_a_route_needs_flask(tmp_path: Path) -> None:
    manifest = retired_copy(tmp_path, legacy_route="news.latest_news")
    process = serve(manifest, tmp_path / "gateway.db", free_port())
    output, _ = process.communicate(timeout=120)
    output = " ".join(output.split())  # as rich wrapped it
    assert process.returncode != 0
    assert "news.latest_news: status legacy needs Flask, but legacy_half is retired" in output
    assert "Traceback" not in output


def test_retire_reports_legacy_files_ready_to_delete(tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'retire.db'}"}

    def retire(*args: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "gateway", "retire", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return " ".join(result.stdout.split())  # as rich wrapped it

    subprocess.run([sys.executable, "-m", "gateway", "migrate"], cwd=ROOT, env=env, check=True)
    ready = retire("--days", "0")  # every route of the project is on async
    assert "legacy_flask/routes/news_routes.py can go, with: blueprint news" in ready
    assert "helper legacy_flask/extensions.py (only ready files import it)" in ready
    assert "9 of 9 legacy files ready to delete" in ready
    assert "every legacy file is ready to delete" in ready
    waiting = retire("--days", "36500")
    assert "0 of 9 legacy files ready to delete" in waiting and "can go" not in waiting
    assert "news.latest_news on async for" in waiting

    async def roll_back() -> None:
        from gateway import store
        from shared.database.engine import Database

        db = Database(env["DATABASE_URL"])
        await db.connect()
        try:
            await store.record_rollback(
                db, route_id="news.latest_news", reason="test", entry_version="x"
            )
        finally:
            await db.close()

    asyncio.run(roll_back())
    after_rollback = retire("--days", "0")
    assert "8 of 9 legacy files ready to delete" in after_rollback
    assert "news.latest_news: rolled back" in after_rollback
