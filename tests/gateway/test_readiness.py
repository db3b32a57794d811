"""Readiness per route (issue 14 point 4): `python -m gateway routes` and the dashboard say,
per route, what the evidence allows next and why. The evidence is made as in production:
a real gateway shadows, records, canaries and rolls back; the CLI reads it from the
database and the running gateway, as an engineer runs it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from gateway.manifest import load_manifest
from gateway.parity import CORPUS_DIR
from gateway.readiness import (
    MIN_CANARY_REQUESTS,
    MIN_SHADOW_COMPARISONS,
    Evidence,
    Side,
    judge,
)
from gateway.retirement import OnAsync
from tests.conftest import ANCHOR, ROOT, make_settings
from tests.support.gateway_server import GatewayServer
from tests.support.misbehaving import misbehaving

SHADOW = {"sample_rate": 1.0, "noise_sample_rate": 0.0, "timeout_ms": 10000}
CHANGES: dict[str, dict[str, Any]] = {
    # shadowed at full parity, recorded: ready to canary
    "news.latest_news": {"status": "shadow", "shadow": SHADOW, "record": {"sample_rate": 1.0}},
    # shadowed, the async half answers something else: not ready
    "api.get_categories": {"status": "shadow", "shadow": SHADOW},
    # a canary on half the users, healthy: ready to flip once it has the answers
    "api.list_sources": {"status": "canary", "percent": 50},
    # a canary on every user
    "api.list_news": {"status": "canary", "percent": 100},
    # on legacy, covered by the corpus, never shadowed: shadow it first
    "api.search_news": {"status": "legacy"},
    # on legacy with no parity case in the corpus this test counts
    "api.trending_news": {"status": "legacy"},
    # a write on legacy: not shadowed without allow_writes, its cases are the evidence
    "api.news_feedback": {"status": "legacy"},
    # on async, the async half raises: automatically rolled back
    "api.version": {
        "status": "async",
        "rollback": {"error_rate": 0.5, "min_requests": 4, "min_clients": 2},
    },
}
UNCOVERED = "api.trending_news"
# The corpus's cases for the shadowed route, as the readiness report should count them.
LATEST_CASES = len(
    yaml.safe_load((CORPUS_DIR / "news_routes.yaml").read_text())["news.latest_news"]
)


def wait_for(check: Callable[[], Any], seconds: float = 30, what: str = "condition") -> Any:
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met in time")
        time.sleep(0.2)


class Session:
    def __init__(self, server: GatewayServer, manifest: Path, corpus: Path, database_url: str):
        self.server, self.manifest, self.corpus = server, manifest, corpus
        self.database_url = database_url

    def cli(self, *args: str, code: int = 0) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "gateway", *args, "--manifest", str(self.manifest)],
            cwd=ROOT,
            env={**os.environ, "DATABASE_URL": self.database_url},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == code, result.stdout + result.stderr
        return " ".join(result.stdout.split())  # as rich wrapped it

    def routes(self, *args: str) -> str:
        return self.cli("routes", "--gateway", self.server.url, "--corpus", str(self.corpus), *args)

    def status(self) -> dict[str, Any]:
        return httpx.get(f"{self.server.url}/_gateway/status", timeout=30).json()


def _write_manifest(path: Path) -> None:
    data = yaml.safe_load((ROOT / "migration_status.yaml").read_text())
    for route_id, fields in CHANGES.items():
        data["routes"][route_id].update(fields)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def _write_corpus(directory: Path) -> None:
    """The project's corpus without the cases of UNCOVERED."""
    directory.mkdir()
    for file in CORPUS_DIR.glob("*.yaml"):
        data = yaml.safe_load(file.read_text()) or {}
        data.pop(UNCOVERED, None)
        (directory / file.name).write_text(yaml.safe_dump(data, sort_keys=False))


@pytest.fixture(scope="module")
def evidence(
    private_database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Session]:
    database_url = private_database_url
    directory = tmp_path_factory.mktemp("readiness")
    manifest_path, corpus = directory / "manifest.yaml", directory / "corpus"
    _write_manifest(manifest_path)
    _write_corpus(corpus)
    broken = {"/api/categories"}  # answers another body
    raising = {"/api/version"}

    def wrap(app: Any) -> Any:
        return misbehaving("different", paths=broken)(misbehaving("raise", paths=raising)(app))

    server = GatewayServer(
        make_settings(
            database_url, migration_manifest=str(manifest_path), manifest_poll_seconds=0.2
        ),
        manifest=load_manifest(manifest_path),
        wrap_async=wrap,
    ).start()
    try:
        server.reset_data(anchor=ANCHOR)  # also every shadow count, rollback and decision
        found = Session(server, manifest_path, corpus, database_url)
        found.cli("record", "clear")
        found.cli("pin", "api.get_news", "legacy", "--by", "carol", "--reason", "incident 42")
        with httpx.Client(base_url=server.url, timeout=30) as client:
            for limit in range(1, MIN_SHADOW_COMPARISONS + 11):
                assert client.get("/api/news/latest", params={"limit": limit}).status_code == 200
            for _ in range(3):
                assert client.get("/api/categories").status_code == 200  # Flask's answer
            for user in range(3 * MIN_CANARY_REQUESTS):
                assert client.get("/api/sources", params={"user_id": user}).status_code == 200
            for user in range(6):
                client.get("/api/version", params={"user_id": user})

        def settled() -> bool:
            routes = {route["id"]: route for route in found.status()["routes"]}
            return (
                routes["news.latest_news"]["parity"]["comparisons"] >= MIN_SHADOW_COMPARISONS
                and routes["api.get_categories"]["parity"]["mismatches"] >= 1
                and routes["api.version"]["rollback"] is not None
            )

        wait_for(settled, what="shadow comparisons and the rollback")
        yield found
    finally:
        server.stop()


def test_routes_gives_every_route_a_verdict_and_its_reason(evidence: Session) -> None:
    def complete() -> str:
        # Shadow counts reach the database on the gateway's next flush.
        text = evidence.routes()
        return "news.latest_news: ready to canary" in text and text

    text = wait_for(complete, what="news.latest_news ready to canary in `routes`")
    assert "readiness" in text  # the table's column, beside the columns it always had
    assert f"news.latest_news: ready to canary — covered by {LATEST_CASES} corpus + " in text
    assert "shadow parity 100.0% over " in text
    assert (
        "api.get_categories: not ready — shadow parity 0.0% over 3 comparisons, under 99%" in text
    )
    assert "api.list_sources: ready to flip — canary at 50%: " in text
    assert "error rate 0.0% vs legacy 0.0%, p95 " in text
    assert "api.list_news: ready to flip — a canary served every user (100%)" in text
    assert (
        "api.search_news: not ready — covered by 14 corpus cases, but 0 of 50 shadow "
        "comparisons: shadow it first" in text
    )
    assert f"{UNCOVERED}: not ready — no parity case covers it" in text
    assert "api.news_feedback: ready to canary — covered by " in text
    assert "a write, not shadowed without allow_writes" in text
    assert "api.version: not ready — rolled back to legacy at " in text
    # Routes on async are not listed under the table unless something is wrong with them.
    assert "api.health:" not in text
    assert "api.get_news: not ready — pinned to legacy by carol: incident 42" in text
    assert "readiness: not ready: 5, ready to canary: 2, ready to flip: " in text


def test_a_route_in_detail_shows_every_figure(evidence: Session) -> None:
    shadowed = evidence.routes("--route", "news.latest_news")
    assert "news.latest_news GET /api/news/latest (shadow)" in shadowed
    assert "verdict: ready to canary" in shadowed
    assert f"parity cases: corpus {LATEST_CASES}, recorded " in shadowed
    assert "recorded 0 in the database" not in shadowed  # sampled at 1.0: kept as cases
    assert "0 differing, parity 100.0%" in shadowed
    assert "on async: no (the file says shadow)" in shadowed

    canary = evidence.routes("--route", "api.list_sources")
    assert "canary: reached 50%" in canary
    assert "errors and latency: legacy " in canary and " req, 0.0% errors, p95 " in canary

    healthy = evidence.routes("--route", "api.health")
    assert "verdict: ready to flip — flipped: on async for 0 hours without a rollback" in healthy
    assert "fully migrated after 14 days" in healthy
    migrated = evidence.routes("--route", "api.health", "--days", "0")
    assert "verdict: fully migrated — on async since " in migrated

    rolled_back = evidence.routes("--route", "api.version", "--days", "0")
    assert "verdict: not ready — rolled back to legacy at " in rolled_back
    assert "last rollback: " in rolled_back and "(in force)" in rolled_back

    unknown = evidence.cli("routes", "--route", "no.such_route", code=1)
    assert "no.such_route is not in the manifest" in unknown


def test_the_dashboard_and_its_json_show_the_readiness(evidence: Session) -> None:
    status = evidence.status()
    verdicts = {route["id"]: route["readiness"] for route in status["routes"]}
    assert verdicts["news.latest_news"]["verdict"] == "ready to canary"
    assert verdicts["news.latest_news"]["shadow"]["rate"] == 1.0
    assert verdicts["news.latest_news"]["cases"]["corpus"] == LATEST_CASES
    assert verdicts["api.get_categories"]["verdict"] == "not ready"
    assert verdicts["api.get_categories"]["reason"].startswith("shadow parity 0.0%")
    assert verdicts["api.list_sources"]["verdict"] == "ready to flip"
    assert verdicts["api.list_sources"]["sides"]["async"]["requests"] >= MIN_CANARY_REQUESTS
    assert verdicts["api.version"]["verdict"] == "not ready"
    assert verdicts["api.version"]["rollback"]["active"] is True
    # The dashboard counts the project's whole corpus: every route has cases there.
    assert verdicts[UNCOVERED]["reason"].endswith("shadow it first")
    assert verdicts["api.health"]["verdict"] == "ready to flip"
    assert verdicts["api.health"]["async_since"] is not None
    assert sum(status["readiness"].values()) == len(status["routes"])
    assert status["readiness"]["not ready"] >= 3

    page = httpx.get(f"{evidence.server.url}/_gateway/", timeout=30).text
    assert 'id="readiness-summary"' in page
    row = page.split('data-route="api.get_categories"')[1].split("</tr>")[0]
    assert "not ready" in row and "shadow parity 0.0% over" in row
    row = page.split('data-route="news.latest_news"')[1].split("</tr>")[0]
    assert "ready to canary" in row and f"covered by {LATEST_CASES} corpus" in row


def test_the_rules_that_need_days_or_a_finished_canary() -> None:
    """What a short test cannot make through a gateway (days on async, a canary's end),
    judged on the figures as gathered."""
    now = datetime(2026, 12, 4, 12, 0)
    shadowed = Evidence(
        route_id="news.top_news",
        method="GET",
        status="canary",
        percent=0,
        shadows_writes=False,
        corpus_cases=5,
        committed_cases=0,
        recorded_cases=0,
        shadow_comparisons=200,
        shadow_differing=0,
        canary_max_percent=25,
        canary_run={"state": "promoted", "steps": [5, 25], "step": 2, "percent": 25},
        canary_last="last step (25%) held: promoted to async",
        legacy=None,
        async_=None,
        on_async=OnAsync(None, None),
        rollback_at=None,
        rollback_reason=None,
        rollback_active=False,
        pinned=None,
    )
    promoted = judge(shadowed, now=now)
    assert promoted.verdict == "ready to flip"
    assert promoted.reason == (
        "progressive canary promoted (last step (25%) held: promoted to async): "
        "write `status: async`"
    )

    slower = replace(
        shadowed,
        canary_run=None,
        percent=25,
        legacy=Side(requests=300, errors=0, p95_ms=20.0),
        async_=Side(requests=120, errors=6, p95_ms=80.0),
    )
    failing = judge(slower, now=now)
    assert failing.verdict == "not ready"
    assert "async error rate 5.0% vs legacy 0.0% (over +1%)" in failing.reason
    assert "async p95 80 ms over 1.5 x legacy" in failing.reason

    cleared = replace(
        slower,
        legacy=None,
        async_=None,
        rollback_at=now - timedelta(hours=3),
        rollback_reason="async failure rate 60%",
    )
    assert judge(cleared, now=now).reason.startswith("rolled back 3 hours ago")
    assert judge(cleared, now=now + timedelta(days=2)).verdict == "ready to canary"

    on_async = replace(shadowed, status="async", on_async=OnAsync(now - timedelta(days=20), None))
    assert judge(on_async, now=now).verdict == "fully migrated"
    assert judge(on_async, now=now, fully_after=timedelta(days=30)).verdict == "ready to flip"
    held_back = replace(on_async, on_async=OnAsync(now - timedelta(days=20), "flip to legacy"))
    assert judge(held_back, now=now).reason == "on async in the file, but flip to legacy"
