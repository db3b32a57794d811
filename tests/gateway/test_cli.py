"""The command line, run as an engineer runs it: `python -m gateway …` in a subprocess."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import yaml

from tests.conftest import ROOT

MANIFEST = ROOT / "migration_status.yaml"


def gateway_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 120):
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def edited_manifest(tmp_path: Path, edit) -> Path:
    data = yaml.safe_load(MANIFEST.read_text())
    edit(data["routes"])
    path = tmp_path / "manifest.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_lint_passes_on_the_projects_manifest() -> None:
    result = gateway_cli("lint")
    assert result.returncode == 0, result.stdout
    assert "every Flask route listed" in result.stdout


def test_lint_fails_on_a_flask_route_missing_from_the_manifest(tmp_path: Path) -> None:
    path = edited_manifest(tmp_path, lambda routes: routes.pop("api.get_categories"))
    result = gateway_cli("lint", "--manifest", str(path))
    assert result.returncode == 1
    assert "api.get_categories: Flask route GET /api/categories is missing" in result.stdout


def test_lint_fails_on_a_non_legacy_entry_without_a_fastapi_route(tmp_path: Path) -> None:
    def add(routes: dict) -> None:
        routes["api.imaginary"] = {
            "method": "GET",
            "path": "/api/imaginary",
            "legacy_file": None,
            "status": "async",
        }

    result = gateway_cli("lint", "--manifest", str(edited_manifest(tmp_path, add)))
    assert result.returncode == 1
    assert "api.imaginary: status async but FastAPI has no such route" in result.stdout


def test_lint_fails_on_unknown_keys_and_statuses(tmp_path: Path) -> None:
    def spoil(routes: dict) -> None:
        routes["api.get_categories"]["colour"] = "blue"
        routes["news.latest_news"]["status"] = "half-migrated"

    result = gateway_cli("lint", "--manifest", str(edited_manifest(tmp_path, spoil)))
    assert result.returncode == 1
    assert "routes.api.get_categories: unknown key 'colour'" in result.stdout
    assert "routes.news.latest_news: unknown status 'half-migrated'" in result.stdout


def test_lint_fails_on_incomplete_entries_and_names_the_fix(tmp_path: Path) -> None:
    def spoil(routes: dict) -> None:
        routes["news.latest_news"]["status"] = "canary"  # no percent
        routes["news.top_news"].update(status="canary", percent=0)
        routes["api.get_categories"]["shadow"] = {"sample_rate": 2}
        routes["api.version"]["rollback"] = {"min_requests": "many"}
        routes["api.health"]["compare"] = {"ignore": "status"}

    result = gateway_cli("lint", "--manifest", str(edited_manifest(tmp_path, spoil)))
    assert result.returncode == 1
    out = " ".join(result.stdout.split())  # rich may wrap long lines
    assert "routes.news.latest_news: canary needs `percent: N` (1-100)" in out
    assert "routes.news.top_news: canary percent must be a whole number from 1 to 100" in out
    assert "routes.api.get_categories.shadow.sample_rate is 2: use a share from 0 to 1" in out
    assert "routes.api.version.rollback.min_requests is 'many'" in out
    assert "routes.api.health.compare.ignore is 'status': use a list of JSON paths" in out


def test_routes_lists_every_route_with_status_and_file() -> None:
    result = gateway_cli("routes")
    assert result.returncode == 0
    manifest = yaml.safe_load(MANIFEST.read_text())["routes"]
    for route_id, entry in manifest.items():
        line = next(line for line in result.stdout.splitlines() if f" {route_id} " in line)
        assert entry["status"] in line and entry["legacy_file"] in line


def test_production_refuses_development_defaults() -> None:
    result = gateway_cli("serve", env={"ENVIRONMENT": "production", "ADMIN_TOKEN": "changeme"})
    assert result.returncode == 2
    assert "refusing to start in production" in result.stdout
    assert "ADMIN_TOKEN must be set to a real secret" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


SEVEN_ROUTES = [
    ("GET", "/api/categories", None),
    ("GET", "/api/news/latest?limit=3&category=markets", None),
    ("GET", "/api/subscriptions?user_id=2", None),
    (
        "POST",
        "/api/subscriptions/update",
        {"user_id": 3, "category": "world", "action": "subscribe"},
    ),
    ("DELETE", "/api/subscriptions/world?user_id=3", None),
    ("POST", "/api/telegram/webhook", {"telegram_id": 100000002, "username": "bob"}),
    ("POST", "/api/digest/generate", {"limit": 3, "categories": ["tech"]}),
]


def serve_and_call(tmp_path: Path, manifest: Path) -> list[httpx.Response]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'served.db'}",
        "MIGRATION_MANIFEST": str(manifest),
    }
    for name in ("DEMO_DATA", "ADMIN_TOKEN", "TELEGRAM_BOT_TOKEN", "TELEGRAM_WEBHOOK_SECRET"):
        env.pop(name, None)
    server = subprocess.Popen(
        [sys.executable, "-m", "gateway", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert server.stdout is not None
        printed = ""
        deadline = time.monotonic() + 60
        while f"http://127.0.0.1:{port}/" not in printed and time.monotonic() < deadline:
            printed += server.stdout.readline()
        assert (
            re.search(r"demo data loaded: sources \d+, news \d+", printed)
            or "database ready" in printed
        )
        base = f"http://127.0.0.1:{port}"
        while time.monotonic() < deadline:
            try:
                httpx.get(base + "/_gateway/status", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        with httpx.Client(base_url=base, timeout=30) as http:
            return [http.request(m, path, json=body) for m, path, body in SEVEN_ROUTES]
    finally:
        server.terminate()
        server.wait(30)


def test_serve_then_flip_a_route_and_restart(tmp_path: Path) -> None:
    """What a new user does: serve the default, call the seven routes, flip, restart."""
    manifest = tmp_path / "migration_status.yaml"
    manifest.write_text(MANIFEST.read_text())
    first = serve_and_call(tmp_path, manifest)
    assert [r.status_code for r in first] == [200] * 7
    served_first = {r.headers["x-route-id"]: r.headers["x-served-by"] for r in first}

    flipped = {"legacy": "async", "async": "legacy"}
    text = manifest.read_text()
    for route_id, side in served_first.items():
        block = re.compile(rf"(  {re.escape(route_id)}:\n(?:    .*\n)*?    status: )(\w+)")
        text = block.sub(lambda m, side=side: m.group(1) + flipped[side], text, count=1)
    manifest.write_text(text)

    second = serve_and_call(tmp_path, manifest)
    for before, after in zip(first, second, strict=True):
        route_id = before.headers["x-route-id"]
        assert after.headers["x-served-by"] == flipped[served_first[route_id]], route_id
        if before.request.method == "GET":
            assert after.content == before.content, route_id
        else:
            assert after.status_code == before.status_code
            assert set(after.json()) == set(before.json())


def test_sigterm_ends_the_gateway_within_its_grace_period(tmp_path: Path) -> None:
    """An AI call that would take a minute is in flight: SIGTERM still ends the process
    within SHUTDOWN_GRACE_SECONDS and a little housekeeping."""
    import signal
    import threading

    from tests.support.servers import OpenAIStub

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with OpenAIStub(delay_seconds=60) as stub:
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'shutdown.db'}",
            "OPENAI_API_KEY": "test",
            "OPENAI_BASE_URL": stub.base_url + "/v1",
            "AI_TIMEOUT_SECONDS": "120",
            "SHUTDOWN_GRACE_SECONDS": "2",
        }
        server = subprocess.Popen(
            [sys.executable, "-m", "gateway", "serve", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while True:
                try:
                    httpx.get(base + "/api/health", timeout=1)
                    break
                except httpx.TransportError:
                    assert time.monotonic() < deadline, "the gateway did not start"
                    time.sleep(0.2)
            answers: list[object] = []

            def generate() -> None:
                try:
                    answers.append(httpx.post(base + "/api/digest/generate", json={}, timeout=90))
                except httpx.TransportError as exc:
                    answers.append(exc)

            caller = threading.Thread(target=generate)
            caller.start()
            while not stub.requests:  # the AI call is in flight
                assert time.monotonic() < deadline
                time.sleep(0.05)
            stopped = time.monotonic()
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
            took = time.monotonic() - stopped
            caller.join(30)
        finally:
            if server.poll() is None:
                server.kill()
    assert took < 2 + 5, f"shutdown took {took:.1f} s"
    assert answers, "the in-flight request never finished"


def test_sync_manifest_adds_missing_flask_routes_and_keeps_the_rest(tmp_path: Path) -> None:
    original = MANIFEST.read_text()
    lines = original.splitlines(keepends=True)
    start = lines.index("  api.health:\n")
    trimmed = "".join(lines[:start] + lines[start + 5 :])  # api.health's five lines removed
    path = tmp_path / "manifest.yaml"
    path.write_text(trimmed)
    result = gateway_cli("sync-manifest", "--manifest", str(path))
    assert result.returncode == 0, result.stdout
    assert "+ api.health (legacy)" in result.stdout
    after = path.read_text()
    assert after.startswith(trimmed)  # nothing existing touched, comments included
    assert "  api.health:\n    method: GET\n    path: /api/health\n" in after
    assert gateway_cli("lint", "--manifest", str(path)).returncode in (0, 1)
    again = gateway_cli("sync-manifest", "--manifest", str(path))
    assert "0 route(s) added" in again.stdout
