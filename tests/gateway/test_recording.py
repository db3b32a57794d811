"""Record and replay (issue 14): live requests and shadow mismatches kept as parity cases,
exported to the committed format, replayed by `python -m gateway parity --recorded`."""

from __future__ import annotations

import asyncio
import io
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from rich.console import Console

from gateway import recording
from gateway.manifest import ShadowRules
from gateway.parity import run_parity
from tests.conftest import ADMIN_TOKEN, ANCHOR, ROOT, SQLITE_BASE_URL, make_settings
from tests.support.gateway_server import GatewayServer
from tests.support.manifests import manifest_with
from tests.support.misbehaving import misbehaving

LATEST = "/api/news/latest"
SECRET = "s3cret-value-never-stored"


def wait_for(check: Callable[[], Any], seconds: float = 15) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def cli(*args: str, database_url: str, manifest: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": database_url, "ADMIN_TOKEN": ADMIN_TOKEN}
    if manifest is not None:
        env["MIGRATION_MANIFEST"] = str(manifest)
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def recorder(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[GatewayServer, httpx.Client, Path]]:
    """One gateway for the module, on its own copy of the manifest (recording is switched
    on by the CLI, as an engineer would)."""
    manifest = tmp_path_factory.mktemp("record") / "migration_status.yaml"
    shutil.copy(ROOT / "migration_status.yaml", manifest)
    settings = make_settings(
        database_url, migration_manifest=str(manifest), manifest_poll_seconds=0.2
    )
    with GatewayServer(settings) as server:
        server.reset_data(anchor=ANCHOR)
        with httpx.Client(base_url=server.url, timeout=60) as client:
            yield server, client, manifest


def recorded_rows(server: GatewayServer, route_id: str) -> list[dict[str, Any]]:
    db = server.gateway.runtime.db
    return server.run(recording.recordings(db, route_ids=[route_id]))


def forget_recordings(server: GatewayServer) -> None:
    """The session's database outlives a test, and other modules' shadow mismatches are
    recorded too (a case of the same shape would not be recorded again)."""
    server.run(recording.clear_recordings(server.gateway.runtime.db))


def record_on(client: httpx.Client, database_url: str, manifest: Path, *args: str) -> None:
    result = cli("record", "on", *args, "--manifest", str(manifest), database_url=database_url)
    assert result.returncode == 0, result.stdout + result.stderr
    route = args[0] if args[0] != "--all" else "api.get_categories"

    def live() -> bool:
        routes = client.get("/_gateway/status").json()["routes"]
        return next(r for r in routes if r["id"] == route)["record"]["sample_rate"] == 1.0

    wait_for(live)


def test_recorded_requests_are_cases_deduplicated_by_shape_with_secrets_redacted(
    recorder, database_url: str
) -> None:
    server, client, manifest = recorder
    forget_recordings(server)
    record_on(client, database_url, manifest, "news.latest_news", "admin.stats")
    answers = [
        client.get(LATEST, params={"limit": 1}),
        client.get(LATEST, params={"limit": 2}),  # the same shape as the first: one case
        client.get(LATEST, params={"category": "crypto", "limit": 1}),
        client.get(LATEST, params={"limit": 1, "token": SECRET}),
    ]
    assert [a.status_code for a in answers] == [200, 200, 200, 200]
    assert answers[0].json()["count"] == 1  # recording changes nothing in the answer
    assert client.get("/admin/api/stats", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    wrong = client.get("/admin/api/stats", headers={"Authorization": f"Bearer {SECRET}"})
    assert wrong.status_code == 401

    rows = wait_for(lambda: len(r := recorded_rows(server, "news.latest_news")) >= 3 and r)
    time.sleep(0.5)  # a fourth would have been written by now
    rows = recorded_rows(server, "news.latest_news")
    assert sorted(row["query"] for row in rows) == [
        "category=crypto&limit=1",
        "limit=1",
        "limit=1&token=%5Bredacted%5D",
    ]
    assert all(row["source"] == "sample" for row in rows)
    plain = next(row for row in rows if row["query"] == "limit=1")
    assert plain["responses"]["async"]["status"] == 200
    assert '"count":1' in plain["responses"]["async"]["body"]
    admin = wait_for(lambda: len(r := recorded_rows(server, "admin.stats")) == 2 and r)
    assert sorted(row["identity"]["admin"] for row in admin) == ["right", "wrong"]
    assert SECRET not in repr(rows + admin) and ADMIN_TOKEN not in repr(rows + admin)


def test_recording_is_bounded_per_route(recorder, database_url: str, monkeypatch) -> None:
    server, client, manifest = recorder
    forget_recordings(server)
    monkeypatch.setattr(recording, "MAX_CASES_PER_ROUTE", 2)
    record_on(client, database_url, manifest, "api.list_news")
    for name in ("limit", "offset", "category", "source"):
        assert client.get("/api/news", params={name: 1 if name != "category" else "tech"})
    wait_for(lambda: recorded_rows(server, "api.list_news"))
    time.sleep(1.0)  # every flush has run by now
    assert len(recorded_rows(server, "api.list_news")) == 2


def test_a_recorded_session_replays_with_parity_and_catches_a_broken_handler(
    recorder, database_url: str, tmp_path: Path
) -> None:
    server, client, manifest = recorder
    forget_recordings(server)
    record_on(client, database_url, manifest, "--all", "--sample-rate", "1")
    init_data = "user=%7B%22id%22%3A1001%7D&hash=" + SECRET
    webapp = {"X-Telegram-Init-Data": init_data}
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    session = [  # the WebApp's pages and the calls they make, then an admin look
        ("GET", "/webapp/", {}, None, webapp),
        ("GET", "/api/categories", {}, None, webapp),
        ("GET", "/webapp/api/feed", {"user_id": 1, "limit": 5, "offset": 0}, None, webapp),
        ("GET", LATEST, {"category": "crypto", "limit": 3}, None, webapp),
        ("GET", "/api/subscriptions", {"user_id": 1}, None, webapp),
        (
            "POST",
            "/api/subscriptions/update",
            {},
            {"user_id": 1, "category": "tech", "action": "subscribe"},
            webapp,
        ),
        ("GET", "/api/news/999999", {}, None, webapp),
        ("GET", "/admin/api/stats", {}, None, admin),
    ]
    for method, path, query, body, headers in session:
        answer = client.request(method, path, params=query, json=body, headers=headers)
        assert answer.status_code < 500, (path, answer.text)
    routes = {
        "webapp.index",
        "api.get_categories",
        "webapp.feed",
        "news.latest_news",
        "api.get_subscriptions",
        "api.update_subscription",
        "api.get_news",
        "admin.stats",
    }
    db = server.gateway.runtime.db

    def all_recorded() -> bool:
        counts = server.run(recording.recording_counts(db))
        return routes <= set(counts)

    wait_for(all_recorded)
    out = tmp_path / "recorded.yaml"
    exported = cli(
        "record", "export", *sorted(routes), "--out", str(out), database_url=database_url
    )
    assert exported.returncode == 0, exported.stdout + exported.stderr
    text = out.read_text()
    assert SECRET not in text and ADMIN_TOKEN not in text
    cases = yaml.safe_load(text)
    assert routes <= set(cases)
    assert cases["admin.stats"][0]["identity"] == {"admin": "right"}
    assert cases["api.get_subscriptions"][0]["identity"] == {"telegram_user_id": 1001}
    assert cases["api.update_subscription"][-1]["json"]["category"] == "tech"
    again = cli("record", "export", *sorted(routes), "--out", str(out), database_url=database_url)
    assert "0 case(s) added" in again.stdout  # the same shapes are not added twice
    assert yaml.safe_load(out.read_text()) == cases

    replay = cli(
        "parity",
        "--recorded",
        str(out),
        "--recorded-only",
        "--database-url",
        SQLITE_BASE_URL,
        database_url=database_url,
    )
    assert replay.returncode == 0, replay.stdout + replay.stderr
    assert "parity holds" in replay.stdout
    assert "api.update_subscription" in replay.stdout  # per route, like the corpus

    # A deliberately broken async handler: the same replay fails, saying where.
    report, output = replay_in_process(
        out, wrap_async=misbehaving("different", paths={LATEST}), database_url=database_url
    )
    assert not report.ok
    broken = [r for r in report.results if r.differences]
    assert {r.case.route_id for r in broken} == {"news.latest_news"}
    assert "parity broken" in output
    assert "✗ news.latest_news / sample GET /api/news/latest?category&limit" in output
    assert re.search(r"count: legacy \d+ != async 0", output)


def replay_in_process(path: Path, *, database_url: str, wrap_async: Any = None) -> tuple[Any, str]:
    buffer = io.StringIO()
    report = asyncio.run(
        run_parity(
            make_settings(database_url),
            database_url=SQLITE_BASE_URL,
            recorded=[path],
            corpus=False,
            wrap_async=wrap_async,
            console=Console(file=buffer, width=200),
        )
    )
    return report, buffer.getvalue()


def test_a_shadow_mismatch_becomes_a_case_that_proves_the_fix(
    database_url: str, tmp_path: Path
) -> None:
    shadow = ShadowRules(noise_sample_rate=0.0, timeout_ms=10000)
    broken = misbehaving("different", paths={LATEST})
    manifest = manifest_with({"news.latest_news": {"status": "shadow", "shadow": shadow}})
    settings = make_settings(database_url, manifest_poll_seconds=0.2)
    with GatewayServer(settings, manifest=manifest, wrap_async=broken) as server:
        server.reset_data(anchor=ANCHOR)
        forget_recordings(server)
        with httpx.Client(base_url=server.url, timeout=30) as client:
            assert client.get(LATEST, params={"limit": 2}).json()["count"] == 2  # Flask's
        rows = wait_for(
            lambda: [
                r for r in recorded_rows(server, "news.latest_news") if r["source"] == "mismatch"
            ]
        )
    case = next(row for row in rows if row["query"] == "limit=2")
    assert case["query"] == "limit=2"
    assert {d["path"] for d in case["differences"]} >= {"count"}
    assert case["responses"]["legacy"]["status"] == case["responses"]["async"]["status"] == 200

    out = tmp_path / "mismatches.yaml"
    exported = cli(
        "record",
        "export",
        "news.latest_news",
        "--source",
        "mismatch",
        "--out",
        str(out),
        database_url=database_url,
    )
    assert exported.returncode == 0, exported.stdout + exported.stderr
    # Still broken: the very request that failed in production fails in CI.
    report, output = replay_in_process(out, database_url=database_url, wrap_async=broken)
    assert not report.ok and "count: legacy 2 != async 0" in output
    # Fixed (the real async half): the same case passes.
    report, output = replay_in_process(out, database_url=database_url)
    assert report.ok, output


def test_a_rows_path_in_the_routes_entry_is_not_a_difference(
    database_url: str, tmp_path: Path
) -> None:
    """A write's rows are compared too. A column that legitimately differs (a digest's
    `duration_ms`, each half's own clock: CI once failed on 0 vs 1 ms) is declared under
    `rows.<table>` in the route's `compare.ignore`, and only that column is let through.
    Here an async half that stamps its digests' `model` stands in for it (a clock would
    make the test depend on the noise pass's luck)."""
    import sqlalchemy as sa

    from shared.database.schema import digests

    def stamping(real: Any) -> Any:
        async def app(scope: Any, receive: Any, send: Any) -> None:
            async def send_after_stamping(message: Any) -> None:
                if message["type"] == "http.response.start":  # the digest is stored by now
                    await real.state.runtime.db.execute(sa.update(digests).values(model="stamped"))
                await send(message)

            digest = scope["type"] == "http" and scope["path"] == "/api/digest/generate"
            await real(scope, receive, send_after_stamping if digest else send)

        return app

    def parity_with(ignore: list[str]) -> tuple[Any, str]:
        manifest = yaml.safe_load((ROOT / "migration_status.yaml").read_text())
        manifest["routes"]["api.generate_digest"]["compare"]["ignore"] = ignore
        path = tmp_path / "manifest.yaml"
        path.write_text(yaml.safe_dump(manifest))
        buffer = io.StringIO()
        report = asyncio.run(
            run_parity(
                make_settings(database_url),
                database_url=SQLITE_BASE_URL,
                manifest_path=str(path),
                only=["api.generate_digest"],
                wrap_async=stamping,
                console=Console(file=buffer, width=200),
            )
        )
        return report, buffer.getvalue()

    declared = ["digest.created_at", "rows.digests.*.duration_ms"]
    report, output = parity_with(declared)
    assert not report.ok, output
    assert re.search(r"rows\.digests\.\d+\.model: legacy '?\w+'? != async '?stamped", output)
    assert "duration_ms: legacy" not in output
    report, output = parity_with([*declared, "rows.digests.*.model"])
    assert report.ok, output
    assert "parity holds" in output
