"""Feeds: `POST /admin/api/sources/<id>/fetch` and `POST /admin/api/ingest`, against real
RSS/Atom servers on 127.0.0.1 (good, broken, slow, huge, missing)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from shared.database.demo import demo_rows
from tests.conftest import ADMIN_TOKEN, ANCHOR
from tests.support.gateway_server import GatewayServer
from tests.support.servers import FeedServer

StartGateway = Callable[..., tuple[GatewayServer, httpx.Client]]
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
DEMO = demo_rows(ANCHOR)
TIMEOUT = 0.5
MAX_BYTES = 64 * 1024
# The demo sources' feeds are on port 9, where nothing listens.
DEMO_ENABLED = [i for i, row in enumerate(DEMO["sources"], 1) if row["enabled"]]


@pytest.fixture(scope="module")
def feeds() -> Iterator[FeedServer]:
    with FeedServer() as server:
        yield server


@pytest.fixture
def admin(start_gateway: StartGateway, feeds: FeedServer) -> httpx.Client:
    feeds.reset()
    return start_gateway(feed_timeout_seconds=TIMEOUT, feed_max_bytes=MAX_BYTES)[1]


def recent(n: int, prefix: str, **kwargs: Any) -> list[dict[str, Any]]:
    """n items published in the last hours (whole seconds), newest last."""
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=n + 1)
    return FeedServer.make_items(n, prefix=prefix, start=start, **kwargs)


def add_source(
    http: httpx.Client, name: str, url: str, category: str = "tech", **extra: Any
) -> int:
    body = {"name": name, "url": url, "category": category, **extra}
    response = http.post("/admin/api/sources", json=body, headers=ADMIN)
    assert response.status_code == 201, response.text
    return response.json()["source"]["id"]


def fetch(http: httpx.Client, source_id: int) -> dict[str, Any]:
    response = http.post(f"/admin/api/sources/{source_id}/fetch", headers=ADMIN)
    assert response.status_code == 200, response.text
    return response.json()


def news_by_link(http: httpx.Client, category: str) -> dict[str, dict[str, Any]]:
    body = http.get("/api/news/latest", params={"category": category, "limit": 100}).json()
    return {item["link"]: item for item in body["news"]}


def source(http: httpx.Client, source_id: int) -> dict[str, Any]:
    sources = http.get("/admin/api/sources", headers=ADMIN).json()["sources"]
    return next(item for item in sources if item["id"] == source_id)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_rss_items_are_stored_under_the_source_category(
    admin: httpx.Client, feeds: FeedServer
) -> None:
    items = recent(3, "Gadget")
    items.append({**recent(1, "Chain")[0], "title": "Bitcoin miners & the <b>halving</b>"})
    items.append({"title": "Undated story", "link": "http://127.0.0.1/articles/undated"})
    items.append({"title": "", "link": "http://127.0.0.1/articles/untitled"})  # unusable
    feeds.add_rss("/rss.xml", items)
    source_id = add_source(admin, "Crypto RSS", feeds.feed_url("/rss.xml"), "crypto")

    assert fetch(admin, source_id) == {"fetched": 5, "inserted": 5, "error": None}

    stored = news_by_link(admin, "crypto")
    for item in items[:3]:
        news = stored[item["link"]]
        assert news["title"] == item["title"]
        assert news["summary"] == item["summary"]
        assert news["published_at"] == iso(item["published"])
        assert (news["category"], news["importance"], news["source"]) == (
            "crypto",
            0.5,
            "Crypto RSS",
        )
        assert news["subcategory"] is None
    tagged = stored[items[3]["link"]]
    assert tagged["title"] == "Bitcoin miners & the halving"  # markup stripped
    assert tagged["subcategory"] == "bitcoin"  # a cheap keyword guess
    undated = stored["http://127.0.0.1/articles/undated"]
    assert undated["published_at"] >= iso(datetime.now(UTC) - timedelta(minutes=5))
    state = source(admin, source_id)
    assert state["last_error"] is None and state["last_fetched_at"] is not None


def test_atom_feeds_are_read_too(admin: httpx.Client, feeds: FeedServer) -> None:
    items = recent(4, "Atom entry")
    feeds.add_atom("/atom.xml", items)
    source_id = add_source(admin, "Atom", feeds.feed_url("/atom.xml"), "world")
    assert fetch(admin, source_id) == {"fetched": 4, "inserted": 4, "error": None}
    stored = news_by_link(admin, "world")
    assert [stored[item["link"]]["published_at"] for item in items] == [
        iso(item["published"]) for item in items
    ]


def test_fetching_again_stores_only_new_links(admin: httpx.Client, feeds: FeedServer) -> None:
    items = recent(3, "Repeat")
    feeds.add_rss("/repeat.xml", items)
    source_id = add_source(admin, "Repeat", feeds.feed_url("/repeat.xml"))
    assert fetch(admin, source_id)["inserted"] == 3
    assert fetch(admin, source_id) == {"fetched": 3, "inserted": 0, "error": None}
    known = {"title": "Demo copy", "link": DEMO["news"][0]["link"]}  # stored by another source
    feeds.add_rss("/repeat.xml", [*items, *recent(2, "Fresh"), known, known])
    assert fetch(admin, source_id) == {"fetched": 6, "inserted": 2, "error": None}
    stats = admin.get("/admin/api/stats", headers=ADMIN).json()
    assert stats["news"] == len(DEMO["news"]) + 5


def test_a_failing_feed_is_reported_and_remembered(admin: httpx.Client, feeds: FeedServer) -> None:
    feeds.add_raw("/broken.xml", b"<rss><channel><item><title>oops")
    feeds.add_raw("/page.html", b"<html><body>Hello</body></html>", content_type="text/html")
    feeds.add_raw("/gone.xml", b"gone", content_type="text/plain", status=410)
    feeds.add_rss("/slow.xml", recent(1, "Slow"))
    feeds.set_delay("/slow.xml", 10)
    feeds.add_huge("/huge.xml", 4 * MAX_BYTES)
    expected = {
        feeds.feed_url("/broken.xml"): "not a feed",
        feeds.feed_url("/page.html"): "not a feed",
        feeds.feed_url("/missing.xml"): "HTTP 404",
        feeds.feed_url("/gone.xml"): "HTTP 410",
        feeds.feed_url("/slow.xml"): f"timed out after {TIMEOUT:g} s",
        feeds.feed_url("/huge.xml"): f"feed larger than {MAX_BYTES} bytes",
        "http://127.0.0.1:9/nothing-listens.xml": "connection failed",
    }
    for n, (url, message) in enumerate(expected.items()):
        source_id = add_source(admin, f"Bad {n}", url)
        assert fetch(admin, source_id) == {"fetched": 0, "inserted": 0, "error": message}, url
        state = source(admin, source_id)
        assert state["last_error"] == message and state["last_fetched_at"] is not None
    assert admin.get("/admin/api/stats", headers=ADMIN).json()["news"] == len(DEMO["news"])
    entry = admin.get("/admin/api/audit", params={"limit": 1}, headers=ADMIN).json()["items"][0]
    assert (entry["action"], entry["details"]) == (
        "source.fetch",
        {"fetched": 0, "inserted": 0, "error": "connection failed", "via": "fetch"},
    )


def test_a_feed_that_recovers_clears_its_error(admin: httpx.Client, feeds: FeedServer) -> None:
    source_id = add_source(admin, "Flaky", feeds.feed_url("/flaky.xml"))
    assert fetch(admin, source_id)["error"] == "HTTP 404"
    feeds.add_rss("/flaky.xml", recent(2, "Back"))
    assert fetch(admin, source_id) == {"fetched": 2, "inserted": 2, "error": None}
    assert source(admin, source_id)["last_error"] is None


def test_fetch_of_an_unknown_source_is_404(client: httpx.Client) -> None:
    response = client.post("/admin/api/sources/999/fetch", headers=ADMIN)
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "source not found"}}
    response = client.post("/admin/api/sources/0/fetch", headers=ADMIN)
    assert response.json()["error"]["field"] == "source_id"


def test_ingest_reads_every_enabled_source_and_one_bad_feed_never_fails_the_rest(
    admin: httpx.Client, feeds: FeedServer
) -> None:
    feeds.add_rss("/good.xml", recent(3, "Good"))
    feeds.add_atom("/atom.xml", recent(2, "Atom"))
    feeds.add_raw("/broken.xml", b"\x00\x01 not xml")
    feeds.add_rss("/slow.xml", recent(1, "Slow"))
    feeds.set_delay("/slow.xml", 10)
    feeds.add_huge("/huge.xml", 4 * MAX_BYTES)
    feeds.add_rss("/off.xml", recent(2, "Off"))
    good = add_source(admin, "Good", feeds.feed_url("/good.xml"), "sports")
    atom = add_source(admin, "Atom", feeds.feed_url("/atom.xml"), "markets")
    broken = add_source(admin, "Broken", feeds.feed_url("/broken.xml"))
    slow = add_source(admin, "Slow", feeds.feed_url("/slow.xml"))
    huge = add_source(admin, "Huge", feeds.feed_url("/huge.xml"))
    add_source(admin, "Off", feeds.feed_url("/off.xml"), enabled=False)

    response = admin.post("/admin/api/ingest", headers=ADMIN)

    assert response.status_code == 200
    body = response.json()
    results = {result["source_id"]: result for result in body["sources"]}
    assert list(results) == [*DEMO_ENABLED, good, atom, broken, slow, huge]  # by id
    assert results[good] == {
        "source_id": good,
        "name": "Good",
        "fetched": 3,
        "inserted": 3,
        "error": None,
    }
    assert (results[atom]["inserted"], results[atom]["error"]) == (2, None)
    assert results[broken]["error"] == "not a feed"
    assert results[slow]["error"] == f"timed out after {TIMEOUT:g} s"
    assert results[huge]["error"] == f"feed larger than {MAX_BYTES} bytes"
    for demo_id in DEMO_ENABLED:
        assert results[demo_id]["error"] == "connection failed"
    assert (body["fetched"], body["inserted"]) == (5, 5)
    assert body["failed"] == len(DEMO_ENABLED) + 3
    assert "/off.xml" not in feeds.hits  # disabled sources are left alone
    assert source(admin, slow)["last_error"] == f"timed out after {TIMEOUT:g} s"
    assert source(admin, good)["last_error"] is None
    assert len(news_by_link(admin, "sports")) == 30 + 3
    audit = admin.get("/admin/api/audit", params={"limit": 100}, headers=ADMIN).json()["items"]
    fetches = [entry for entry in audit if entry["action"] == "source.fetch"]
    assert len(fetches) == len(results)
    assert all(entry["details"]["via"] == "ingest" for entry in fetches)


def test_ingest_again_adds_nothing_new(admin: httpx.Client, feeds: FeedServer) -> None:
    feeds.add_rss("/good.xml", recent(3, "Good"))
    add_source(admin, "Good", feeds.feed_url("/good.xml"), "sports")
    assert admin.post("/admin/api/ingest", headers=ADMIN).json()["inserted"] == 3
    again = admin.post("/admin/api/ingest", headers=ADMIN).json()
    assert (again["fetched"], again["inserted"]) == (3, 0)
