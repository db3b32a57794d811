"""Feed ingest as a job (issue 12, point 7): `POST /admin/api/ingest` enqueues the
`feeds.ingest` task and answers its per-source results, `GET /admin/api/ingest` follows
the run while it goes, asking twice at once gives one run, and the schedule
(`INGEST_INTERVAL_SECONDS`) runs the same task: with the gateway's own worker on SQLite
and PostgreSQL, and with two worker processes on PostgreSQL (never two runs at once)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from shared.settings import Settings
from tests.api.test_admin_ingest import add_source, recent
from tests.conftest import ADMIN_TOKEN, http_client, make_settings
from tests.jobs.test_workers import Deployment, postgres_url, wait_until
from tests.support.gateway_server import GatewayServer
from tests.support.servers import FeedServer, OpenAIStub

StartGateway = Callable[..., tuple[GatewayServer, httpx.Client]]
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
SLOW = 1.5  # seconds the slow feed takes: long enough to watch a run while it goes


@pytest.fixture(scope="module")
def feeds() -> Iterator[FeedServer]:
    with FeedServer() as server:
        yield server


def start(start_gateway: StartGateway, **settings: Any) -> httpx.Client:
    return start_gateway(feed_timeout_seconds=5, **settings)[1]


def only_sources(http: httpx.Client, feeds: FeedServer, *, slow: bool = False) -> list[int]:
    """The demo sources disabled; two good feeds, a broken one, and maybe a slow one last."""
    for source in http.get("/admin/api/sources", headers=ADMIN).json()["sources"]:
        response = http.put(
            f"/admin/api/sources/{source['id']}", json={"enabled": False}, headers=ADMIN
        )
        assert response.status_code == 200, response.text
    prefix = uuid.uuid4().hex[:6]
    feeds.add_rss(f"/{prefix}-a.xml", recent(2, f"{prefix} A"))
    feeds.add_atom(f"/{prefix}-b.xml", recent(3, f"{prefix} B"))
    feeds.add_raw(f"/{prefix}-broken.xml", b"<html>not a feed</html>", content_type="text/html")
    ids = [
        add_source(http, f"{prefix} A", feeds.feed_url(f"/{prefix}-a.xml")),
        add_source(http, f"{prefix} B", feeds.feed_url(f"/{prefix}-b.xml"), "world"),
        add_source(http, f"{prefix} broken", feeds.feed_url(f"/{prefix}-broken.xml")),
    ]
    if slow:
        feeds.add_rss(f"/{prefix}-slow.xml", recent(1, f"{prefix} slow"))
        feeds.set_delay(f"/{prefix}-slow.xml", SLOW)
        ids.append(add_source(http, f"{prefix} slow", feeds.feed_url(f"/{prefix}-slow.xml")))
    return ids


def expected_results(ids: list[int], *, slow: bool = False) -> list[dict[str, Any]]:
    """Per source, without its name (the prefix is random)."""

    def result(source_id: int, fetched: int, error: str | None) -> dict[str, Any]:
        return {"source_id": source_id, "fetched": fetched, "inserted": fetched, "error": error}

    rows = [result(ids[0], 2, None), result(ids[1], 3, None), result(ids[2], 0, "not a feed")]
    if slow:
        rows.append(result(ids[3], 1, None))
    return rows


def without_names(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{key: value for key, value in row.items() if key != "name"} for row in results]


def progress(http: httpx.Client) -> httpx.Response:
    return http.get("/admin/api/ingest", headers=ADMIN)


def ingest_runs(http: httpx.Client) -> list[dict[str, Any]]:
    items = http.get("/admin/api/audit", params={"limit": 100}, headers=ADMIN).json()["items"]
    return [item for item in items if item["action"] == "ingest.run"]


def test_ingest_now_runs_the_job_and_its_progress_can_be_followed(
    start_gateway: StartGateway, feeds: FeedServer
) -> None:
    http = start(start_gateway)
    response = progress(http)
    assert response.status_code == 404
    assert response.json()["error"] == {"code": "not_found", "message": "ingest run not found"}
    ids = only_sources(http, feeds, slow=True)

    answers: list[httpx.Response] = []
    asking = threading.Thread(
        target=lambda: answers.append(http.post("/admin/api/ingest", headers=ADMIN, timeout=60))
    )
    asking.start()
    # While the slow feed is out, the run is running with the three sources before it done.
    seen: list[dict[str, Any]] = []

    def midway() -> bool:
        response = progress(http)
        body = response.json() if response.status_code == 200 else {}
        seen.append(body)
        return body.get("state") == "running" and body.get("done") == 3

    wait_until(midway, seconds=30, what="a run part way")
    during = seen[-1]
    assert during["total"] == 4 and during["trigger"] == "admin" and during["finished_at"] is None
    assert without_names(during["sources"]) == expected_results(ids)[:3]
    asking.join(60)

    [answer] = answers
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert list(body) == ["sources", "fetched", "inserted", "failed"]  # the old answer
    assert without_names(body["sources"]) == expected_results(ids, slow=True)
    assert (body["fetched"], body["inserted"], body["failed"]) == (6, 6, 1)

    done = progress(http).json()
    assert done["state"] == "done" and done["done"] == done["total"] == 4
    assert done["sources"] == body["sources"] and done["error"] is None
    assert done["actor"] == "admin" and done["started_at"] <= done["finished_at"]
    # The same feeds again: nothing new, in a new run.
    again = http.post("/admin/api/ingest", headers=ADMIN, timeout=60).json()
    assert (again["fetched"], again["inserted"], again["failed"]) == (6, 0, 1)
    assert len(ingest_runs(http)) == 2


def test_two_requests_at_once_share_one_run(start_gateway: StartGateway, feeds: FeedServer) -> None:
    http = start(start_gateway)
    only_sources(http, feeds, slow=True)
    hits_before = feeds.hits
    answers: list[httpx.Response] = []
    barrier = threading.Barrier(2)

    def ask() -> None:
        barrier.wait()
        answers.append(http.post("/admin/api/ingest", headers=ADMIN, timeout=60))

    threads = [threading.Thread(target=ask) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert [answer.status_code for answer in answers] == [200, 200]
    assert answers[0].json() == answers[1].json()
    assert answers[0].json()["inserted"] == 6
    assert len(ingest_runs(http)) == 1  # one run, both answered with it
    hits = feeds.hits
    fetched = {path: hits[path] - hits_before.get(path, 0) for path in hits}
    assert sorted(n for n in fetched.values() if n) == [1, 1, 1, 1]  # each feed once


def test_ingest_runs_on_the_schedule(
    start_gateway: StartGateway, feeds: FeedServer, database_url: str, half: str
) -> None:
    ids = only_sources(start(start_gateway), feeds)
    # A second gateway on the same database, with the schedule: started after the data
    # is in place (a reset under a running schedule would race with its writes).
    settings = make_settings(database_url, ingest_interval_seconds=2, feed_timeout_seconds=5)
    with GatewayServer(settings, force_status=half) as server, http_client(server, half) as http:

        def scheduled_run_done() -> bool:
            response = progress(http)
            if response.status_code != 200:
                return False
            body = response.json()
            return body["state"] == "done" and body["done"] == len(ids)

        wait_until(scheduled_run_done, seconds=30, what="a scheduled run covering the sources")
        run = progress(http).json()
        assert (run["trigger"], run["actor"]) == ("schedule", "scheduler")
        latest = http.get("/api/news/latest", params={"category": "world", "limit": 10}).json()
        assert len([item for item in latest["news"] if item["source"].endswith(" B")]) == 3
        first = run["run"]
        wait_until(
            lambda: progress(http).json()["run"] != first,
            seconds=15,
            what="the next scheduled run",
        )


def test_an_interval_no_cron_can_keep_is_refused_at_startup() -> None:
    for seconds in (2, 30, 300, 1800, 7200, 86400):
        assert Settings(ingest_interval_seconds=seconds).ingest_interval_seconds == seconds
    for seconds in (7, 45, 90, 5000, 100000):
        with pytest.raises(ValidationError, match="no interval a cron can keep"):
            Settings(ingest_interval_seconds=seconds)


# --- worker processes on PostgreSQL ---------------------------------------------------------


def test_scheduled_runs_never_overlap_across_worker_processes(
    postgres_url: str, tmp_path: Path, feeds: FeedServer
) -> None:
    with OpenAIStub() as stub:
        deployment = Deployment(
            postgres_url, stub, tmp_path, ingest_interval_seconds=1, feed_timeout_seconds=5
        )
        http = deployment.start()
        try:
            only_sources(http, feeds, slow=True)  # a run takes longer than the interval
            for _ in range(2):
                deployment.worker(concurrency=4)
            wait_until(lambda: len(_spans(deployment)) >= 3, seconds=60, what="three runs")
            spans = _spans(deployment)
            for earlier, later in zip(spans, spans[1:], strict=False):
                assert earlier[1] <= later[0], f"two runs at once: {earlier} and {later}"
            assert len({span[2] for span in spans}) == len(spans)  # distinct runs
        finally:
            http.close()
            deployment.stop()


def _spans(deployment: Deployment) -> list[tuple[datetime, datetime, str]]:
    """(started, finished, run) of the finished runs, by start."""
    rows = deployment.sql(
        "SELECT action, created_at, details->>'run' AS run FROM audit_log"
        " WHERE action IN ('ingest.start', 'ingest.finish') ORDER BY id"
    )
    started = {row["run"]: row["created_at"] for row in rows if row["action"] == "ingest.start"}
    return sorted(
        (started[row["run"]], row["created_at"], row["run"])
        for row in rows
        if row["action"] == "ingest.finish" and row["run"] in started
    )


__all__ = ["postgres_url"]  # the scratch database fixture of test_workers.py
