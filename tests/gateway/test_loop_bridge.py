"""One process, one event loop, one pool: the legacy half reaches the shared DB layer
only through the bridge onto the gateway's loop, and nothing makes a loop per call."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from gateway.manifest import load_manifest
from shared.database.bridge import BridgeMisuse, LoopBridge
from tests.conftest import ANCHOR, ROOT, make_settings
from tests.support.gateway_server import GatewayServer

StartGateway = Callable[..., tuple[GatewayServer, httpx.Client]]


def test_both_halves_query_on_the_gateways_one_loop_and_one_pool(database_url: str) -> None:
    manifest = load_manifest(ROOT / "migration_status.yaml")
    entries = dict(manifest.entries)
    entries["news.latest_news"] = replace(entries["news.latest_news"], status="async")
    entries["api.get_subscriptions"] = replace(entries["api.get_subscriptions"], status="legacy")
    mixed = replace(manifest, entries=entries)
    with GatewayServer(make_settings(database_url), manifest=mixed) as server:
        server.reset_data(anchor=ANCHOR)
        with httpx.Client(base_url=server.url) as http:
            before = http.get("/_gateway/status").json()["runtime"]
            modern = http.get("/api/news/latest")
            legacy = http.get("/api/subscriptions", params={"user_id": 1})
            after = http.get("/_gateway/status").json()["runtime"]
    assert modern.headers["x-served-by"] == "async" and modern.status_code == 200
    assert legacy.headers["x-served-by"] == "legacy" and legacy.status_code == 200
    assert after["queries"] > before["queries"]
    assert after["bridge"]["calls"] > before["bridge"]["calls"]  # legacy went through it
    assert after["query_loop_ids"] == [after["loop_id"]]
    assert after["pool_id"] == before["pool_id"]
    assert after["bridge"]["loops_started"] == 0


def test_100_concurrent_legacy_requests_create_no_new_loop(
    start_gateway: StartGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    server, http = start_gateway(force_status="legacy", db_simulated_latency_ms=20)
    loops_made: list[object] = []
    real_new_event_loop = asyncio.new_event_loop

    def counting_new_event_loop() -> asyncio.AbstractEventLoop:
        loop = real_new_event_loop()
        loops_made.append(loop)
        return loop

    monkeypatch.setattr(asyncio, "new_event_loop", counting_new_event_loop)
    with ThreadPoolExecutor(max_workers=50) as pool:
        responses = list(
            pool.map(lambda _: http.get("/api/news/latest", params={"limit": 3}), range(100))
        )
    assert [r.status_code for r in responses] == [200] * 100
    assert {r.headers["x-served-by"] for r in responses} == {"legacy"}
    assert len({r.content for r in responses}) == 1
    facts = http.get("/_gateway/status").json()["runtime"]
    assert loops_made == []
    assert facts["query_loop_ids"] == [facts["loop_id"]]
    assert facts["bridge"]["calls"] >= 100
    assert facts["bridge"]["loops_started"] == 0


def test_a_query_slower_than_the_bridge_timeout_is_503_unavailable(
    start_gateway: StartGateway,
) -> None:
    _, legacy = start_gateway(
        force_status="legacy", db_simulated_latency_ms=600, bridge_timeout_seconds=0.2
    )
    response = legacy.get("/api/news/latest")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "unavailable"
    _, modern = start_gateway(force_status="async", db_simulated_latency_ms=600)
    assert modern.get("/api/news/latest").status_code == 200  # no bridge, no bridge timeout


def test_bridge_called_on_the_loops_own_thread_fails_loudly() -> None:
    bridge: LoopBridge[object] = LoopBridge(timeout=1)

    async def misuse() -> str:
        bridge.attach(object())

        async def answer() -> int:
            return 42

        try:
            bridge.run(answer())
        except BridgeMisuse as exc:
            return str(exc)
        return "no error"

    message = asyncio.run(misuse())
    assert "event loop's own thread" in message


FORK_SCRIPT = textwrap.dedent(
    """
    import os, sys
    from shared.database.migrate import apply_migrations
    from shared.database.queries.news import latest_news
    from shared.runtime import standalone_bridge
    from shared.settings import Settings

    bridge = standalone_bridge(Settings(_env_file=None, database_url=sys.argv[1]))
    db = bridge.resource.db
    bridge.run(apply_migrations(db))
    parent_loop = id(bridge.loop)
    bridge.run(latest_news(db, limit=1))
    pid = os.fork()
    if pid == 0:
        child_db = bridge.resource.db
        bridge.run(latest_news(child_db, limit=1))
        print("child", bridge.stats.loops_started, id(bridge.loop) != parent_loop, flush=True)
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    bridge.run(latest_news(db, limit=1))
    print("parent", bridge.stats.loops_started, os.waitstatus_to_exitcode(status), flush=True)
    bridge.close()
    """
)


def test_standalone_bridge_starts_a_fresh_loop_in_a_forked_child(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'fork.db'}"
    result = subprocess.run(
        [sys.executable, "-c", FORK_SCRIPT, url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    lines = sorted(result.stdout.split("\n"))
    assert "child 2 True" in lines  # the parent's loop thread does not exist in the child
    assert "parent 1 0" in lines  # the parent kept its one loop


def test_legacy_wsgi_app_serves_alone_under_gunicorn_with_two_workers(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'gunicorn.db'}",
        "DEMO_DATA": "true",
    }
    python = Path(sys.executable)
    subprocess.run(
        [python, "-m", "gateway", "migrate"], cwd=ROOT, env=env, check=True, capture_output=True
    )
    port = _free_port()
    gunicorn = subprocess.Popen(
        [python.parent / "gunicorn", "-w", "2", "-b", f"127.0.0.1:{port}", "legacy_flask.wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_until_up(base + "/api/categories", gunicorn)
        with httpx.Client(base_url=base, timeout=30) as http, ThreadPoolExecutor(20) as pool:
            responses = list(
                pool.map(lambda _: http.get("/api/news/latest", params={"limit": 5}), range(40))
            )
            update = http.post(
                "/api/subscriptions/update",
                json={"user_id": 4, "category": "tech", "action": "subscribe"},
            )
            bad = http.get("/api/news/latest", params={"limit": 0})
            # Each answer is its worker's own figures. Which worker accepts a connection is
            # the kernel's choice (one may have taken every request above), but of three
            # calls two reach the same worker, and its second answer counts the first.
            figures = [http.get("/api/metrics").json() for _ in range(3)]
        assert [r.status_code for r in responses] == [200] * 40
        assert len({r.content for r in responses}) == 1
        assert responses[0].json()["count"] == 5
        assert "x-served-by" not in responses[0].headers  # no gateway in front
        assert update.json() == {"success": True, "category": "tech", "subscribed": True}
        assert bad.status_code == 400 and bad.json()["error"]["field"] == "limit"
        assert max(f["requests"] for f in figures) >= 1
        assert {f["pid"] for f in figures} <= set(_children(gunicorn.pid))
        workers = Path(f"/proc/{gunicorn.pid}/task").exists() and _children(gunicorn.pid)
        assert len(workers) == 2
    finally:
        gunicorn.terminate()
        gunicorn.wait(20)


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == pid:
                found.append(int(entry.name))
    return found


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_up(url: str, process: subprocess.Popen) -> None:
    import time

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited: {process.stderr.read().decode()[-2000:]}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not come up")
