"""Operator decisions reach every instance: a flip or a pin made with the CLI against the
shared PostgreSQL is applied by a gateway whose own manifest file says otherwise."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gateway.manifest import load_manifest
from shared.database.scratch import drop_scratch_database
from tests.conftest import ROOT, _migrated_scratch, base_url_for, make_settings
from tests.support.gateway_server import GatewayServer

LATEST = "/api/news/latest"
ROUTE = "news.latest_news"


def cli(database_url: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=60,
    )


def served_by(client: httpx.Client) -> str:
    return client.get(LATEST, params={"limit": 1}).headers["x-served-by"]


def wait_for_side(client: httpx.Client, side: str, seconds: float) -> float:
    started = time.monotonic()
    while served_by(client) != side:
        waited = time.monotonic() - started
        assert waited < seconds, f"{client.base_url} still not on {side} after {seconds} s"
        time.sleep(0.05)
    return time.monotonic() - started


def file_status(path: Path) -> str:
    return load_manifest(path).entries[ROUTE].status


def manifest_copy(directory: Path, database_url: str) -> Path:
    """An instance's own copy of the manifest, with the route on legacy."""
    directory.mkdir()
    path = directory / "migration_status.yaml"
    path.write_text((ROOT / "migration_status.yaml").read_text())
    result = cli(database_url, "flip", ROUTE, "legacy", "--manifest", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    return path


def scratch_database(backend: str) -> Iterator[str]:
    base = base_url_for(backend)
    url = asyncio.run(_migrated_scratch(base, "overrides"))
    yield url
    asyncio.run(drop_scratch_database(url, base_url=base))


def serve(database_url: str, manifest: Path) -> tuple[subprocess.Popen, httpx.Client]:
    """A gateway process of its own (`python -m gateway serve`), polling at the default pace
    (MANIFEST_POLL_SECONDS=1): the 2 s promise holds as shipped."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "DATABASE_URL": database_url, "MIGRATION_MANIFEST": str(manifest)}
    env.pop("MANIFEST_POLL_SECONDS", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
    deadline = time.monotonic() + 90
    while True:
        try:
            client.get("/_gateway/status")
            return process, client
        except httpx.HTTPError:
            assert process.poll() is None and time.monotonic() < deadline, "serve did not start"
            time.sleep(0.2)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    yield from scratch_database("postgresql")


@pytest.fixture
def sqlite_url() -> Iterator[str]:
    yield from scratch_database("sqlite")


def test_a_flip_and_a_pin_reach_an_instance_with_its_own_file(
    postgres_url: str, tmp_path: Path
) -> None:
    file_a = manifest_copy(tmp_path / "a", postgres_url)
    file_b = manifest_copy(tmp_path / "b", postgres_url)
    process, client_a = serve(postgres_url, file_a)  # two processes, one database
    try:
        settings_b = make_settings(postgres_url, migration_manifest=str(file_b))
        b = GatewayServer(settings_b)
        b.fail_on_loop_blocks = False  # see test_progressive_canary.py: cold calls, loaded machine
        with b, httpx.Client(base_url=b.url, timeout=30) as client_b:
            check_flip_pin_unpin(postgres_url, file_a, file_b, client_a, client_b)
    finally:
        client_a.close()
        process.terminate()
        process.wait(30)


def check_flip_pin_unpin(
    postgres_url: str, file_a: Path, file_b: Path, client_a: httpx.Client, client_b: httpx.Client
) -> None:
    assert served_by(client_a) == served_by(client_b) == "legacy"

    flip = cli(
        postgres_url, "flip", ROUTE, "async", "--manifest", str(file_a),
        "--by", "alice", "--reason", "parity 100% for a week",
    )  # fmt: skip
    assert flip.returncode == 0, flip.stdout + flip.stderr
    assert file_status(file_a) == "async"  # the host it was typed on has it in its file
    assert wait_for_side(client_b, "async", seconds=2) < 2
    assert file_status(file_b) == "legacy"  # B's file was never touched
    route = next(r for r in client_b.get("/_gateway/status").json()["routes"] if r["id"] == ROUTE)
    assert route["status"] == "legacy" and route["effective_status"] == "async"
    in_force = route["override"]["in_force"]
    assert (in_force["kind"], in_force["by"], in_force["reason"]) == (
        "flip", "alice", "parity 100% for a week",
    )  # fmt: skip

    pin = cli(
        postgres_url, "pin", ROUTE, "legacy", "--by", "bob", "--reason", "incident 42",
        "--manifest", str(file_b),
    )  # fmt: skip
    assert pin.returncode == 0, pin.stdout + pin.stderr
    for client in (client_a, client_b):  # A's own file says async now: the pin wins
        wait_for_side(client, "legacy", seconds=2)

    routes = cli(postgres_url, "routes", "--manifest", str(file_a))
    assert routes.returncode == 0, routes.stdout + routes.stderr
    assert "pin news.latest_news: file says async, pin says legacy (in force) by bob" in (
        " ".join(routes.stdout.split())
    )

    unpin = cli(postgres_url, "unpin", ROUTE, "--by", "bob", "--reason", "fixed")
    assert unpin.returncode == 0, unpin.stdout + unpin.stderr
    for client in (client_a, client_b):  # the flip is in force again everywhere
        wait_for_side(client, "async", seconds=2)

    history = client_b.get("/_gateway/status").json()["decisions"]
    assert [(d["kind"], d["actor"]) for d in history][:3] == [
        ("unpin", "bob"),
        ("pin", "bob"),
        ("flip", "alice"),
    ]
    assert "incident 42" in client_b.get("/_gateway/").text


def test_an_edit_of_the_entry_after_a_flip_wins_on_that_instance(
    postgres_url: str, tmp_path: Path
) -> None:
    file_a = manifest_copy(tmp_path / "a", postgres_url)
    file_b = manifest_copy(tmp_path / "b", postgres_url)
    settings = make_settings(
        postgres_url, migration_manifest=str(file_b), manifest_poll_seconds=0.2
    )
    b = GatewayServer(settings)
    b.fail_on_loop_blocks = False  # see test_progressive_canary.py: cold calls, loaded machine
    with b, httpx.Client(base_url=b.url, timeout=30) as client:
        flip = cli(postgres_url, "flip", ROUTE, "async", "--manifest", str(file_a))
        assert flip.returncode == 0, flip.stdout + flip.stderr
        wait_for_side(client, "async", seconds=3)
        # A reviewed change to B's entry, made after the flip: B's file decides again.
        text = file_b.read_text().replace(
            "    path: /api/news/latest\n", "    path: /api/news/latest\n    note: reviewed\n"
        )
        file_b.write_text(text)
        wait_for_side(client, "legacy", seconds=3)


def test_on_sqlite_the_file_alone_decides_and_the_flip_is_in_the_history(
    sqlite_url: str, tmp_path: Path
) -> None:
    path = manifest_copy(tmp_path / "one", sqlite_url)
    settings = make_settings(sqlite_url, migration_manifest=str(path), manifest_poll_seconds=0.2)
    server = GatewayServer(settings)
    server.fail_on_loop_blocks = False  # see test_progressive_canary.py
    with server, httpx.Client(base_url=server.url, timeout=30) as client:
        flip = cli(sqlite_url, "flip", ROUTE, "async", "--manifest", str(path), "--reason", "go")
        assert flip.returncode == 0, flip.stdout + flip.stderr
        wait_for_side(client, "async", seconds=3)
        status = client.get("/_gateway/status").json()
        route = next(r for r in status["routes"] if r["id"] == ROUTE)
        assert route["status"] == "async" and route["override"] is None  # the file says it
        assert status["decisions"][0]["kind"] == "flip"
        assert status["decisions"][0]["reason"] == "go"
        # Editing the file back works as it always did: nothing in the database overrides it.
        path.write_text(path.read_text().replace(
            "    path: /api/news/latest\n    legacy_file: legacy_flask/routes/news_routes.py\n"
            "    status: async",
            "    path: /api/news/latest\n    legacy_file: legacy_flask/routes/news_routes.py\n"
            "    status: legacy",
        ))  # fmt: skip
        wait_for_side(client, "legacy", seconds=3)
        # A pin needs no file on SQLite either (every worker of the host shares the database).
        pin = cli(sqlite_url, "pin", ROUTE, "async", "--reason", "try", "--manifest", str(path))
        assert pin.returncode == 0, pin.stdout + pin.stderr
        wait_for_side(client, "async", seconds=3)
        assert cli(sqlite_url, "unpin", ROUTE).returncode == 0
        wait_for_side(client, "legacy", seconds=3)
