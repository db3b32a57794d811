"""Every answer of an outside service is handled: the AI (OpenAI-compatible), the Telegram
Bot API and RSS feeds, each stood in for by a real server on 127.0.0.1 that hangs, fails
with a 500, answers garbage, answers well-formed JSON/XML of the wrong shape, or drops the
connection halfway. Our endpoints answer 502/504 (AI), count the failure with its reason
(Telegram), or report it as that source's error (feeds): never a 5xx of their own making.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from shared.database.scratch import drop_scratch_database
from shared.telegram_auth import sign_init_data
from tests.conftest import (
    ADMIN_TOKEN,
    ANCHOR,
    SQLITE_BASE_URL,
    _migrated_scratch,
    http_client,
    make_settings,
)
from tests.support.gateway_server import GatewayServer
from tests.support.servers import FeedServer, OpenAIStub, TelegramBotAPIStub

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
BOT_TOKEN = "123:abc"
ALICE = {"id": 100000001, "username": "alice"}  # demo user 1
TIMEOUT = 1.0  # every upstream call's limit here: a hang costs 1 s, not 10-30 s


@pytest.fixture(scope="module")
def database_url() -> Iterator[str]:
    """Upstream answers are handled before any database is involved: SQLite suffices (this
    overrides the suite's both-backends fixture for this module only)."""
    url = asyncio.run(_migrated_scratch(SQLITE_BASE_URL, "upstreams"))
    yield url
    asyncio.run(drop_scratch_database(url, base_url=SQLITE_BASE_URL))


@pytest.fixture(scope="module")
def ai_stub() -> Iterator[OpenAIStub]:
    with OpenAIStub() as stub:
        yield stub


@pytest.fixture(scope="module")
def telegram() -> Iterator[TelegramBotAPIStub]:
    with TelegramBotAPIStub() as stub:
        yield stub


@pytest.fixture(scope="module")
def feeds() -> Iterator[FeedServer]:
    with FeedServer() as server:
        yield server


@pytest.fixture(scope="module")
def gateway_with_upstreams(
    database_url: str,
    half: str,
    ai_stub: OpenAIStub,
    telegram: TelegramBotAPIStub,
    feeds: FeedServer,
) -> Iterator[httpx.Client]:
    """One gateway per half for the module, every upstream on a stub."""
    settings = make_settings(
        database_url,
        openai_api_key="sk-test",
        openai_base_url=ai_stub.base_url + "/v1",
        ai_timeout_seconds=TIMEOUT,
        telegram_bot_token=BOT_TOKEN,
        telegram_api_base_url=telegram.base_url,
        telegram_timeout_seconds=TIMEOUT,
        feed_timeout_seconds=TIMEOUT,
        # Broadcast messages are jobs: picked up at once, a busy Bot API tried twice, soon.
        jobs_poll_seconds=0.1,
        jobs_max_attempts=2,
        jobs_retry_base_seconds=0.1,
    )
    with GatewayServer(settings, force_status=half) as server:
        server.reset_data(anchor=ANCHOR)
        with http_client(server, half) as http:
            yield http


@pytest.fixture
def upstream(
    gateway_with_upstreams: httpx.Client,
    ai_stub: OpenAIStub,
    telegram: TelegramBotAPIStub,
    feeds: FeedServer,
) -> httpx.Client:
    ai_stub.reset()
    telegram.reset()
    feeds.reset()
    return gateway_with_upstreams


def error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return response.json()["error"]


# --- the AI -----------------------------------------------------------------------------

AI_WRONG_SHAPES = {
    "the issue's example": ({"choices": [{"nope": 1}]}, "without a message"),
    "no choices": ({"id": "x", "object": "chat.completion"}, "without choices"),
    "empty choices": ({"choices": []}, "without choices"),
    "choices not a list": ({"choices": "many"}, "without choices"),
    "a choice not an object": ({"choices": [1]}, "without a message"),
    "null message": ({"choices": [{"message": None}]}, "without a message"),
    "message not an object": ({"choices": [{"message": "hi"}]}, "without a message"),
    "no content": ({"choices": [{"message": {"role": "assistant"}}]}, "without text content"),
    "null content": ({"choices": [{"message": {"content": None}}]}, "without text content"),
    "number content": ({"choices": [{"message": {"content": 42}}]}, "without text content"),
    "list content": ({"choices": [{"message": {"content": ["a"]}}]}, "without text content"),
    "blank content": ({"choices": [{"message": {"content": " \n"}}]}, None),
    "a JSON list": ([{"choices": []}], "without choices"),
    "a JSON string": ("ok", "without choices"),
    "JSON null": (None, "without choices"),
}


@pytest.mark.parametrize("shape", AI_WRONG_SHAPES)
def test_an_ai_answer_of_the_wrong_shape_is_502(
    upstream: httpx.Client, ai_stub: OpenAIStub, shape: str
) -> None:
    body, words = AI_WRONG_SHAPES[shape]
    ai_stub.mode, ai_stub.wrong_shape_body = "wrong_shape", body
    failure = error(upstream.post("/api/digest/generate", json={"limit": 2}), 502)
    assert failure["code"] == "upstream_error"
    expected = (
        f"the AI service answered {words}" if words else "the AI service returned an empty digest"
    )
    assert failure["message"] == expected


@pytest.mark.parametrize(
    ("mode", "content_type", "status", "message"),
    [
        ("hang", None, 504, f"the AI service did not answer within {TIMEOUT:g} s"),
        ("error", None, 502, "the AI service failed: InternalServerError"),
        ("garbage", "application/json", 502, "the AI service answered with garbage (not JSON)"),
        ("garbage", "text/html", 502, "the AI service answered with garbage (not JSON)"),
        ("truncated", None, 502, "the AI service failed: APIConnectionError"),
    ],
)
def test_an_ai_that_hangs_fails_or_babbles_is_502_or_504(
    upstream: httpx.Client,
    ai_stub: OpenAIStub,
    mode: str,
    content_type: str | None,
    status: int,
    message: str,
) -> None:
    ai_stub.mode = mode
    if content_type:
        ai_stub.garbage_content_type = content_type
    failure = error(upstream.post("/api/digest/generate", json={"limit": 2}), status)
    assert failure == {
        "code": "upstream_error" if status == 502 else "upstream_timeout",
        "message": message,
    }


def as_alice() -> dict[str, str]:
    return {"X-Telegram-Init-Data": sign_init_data(ALICE, bot_token=BOT_TOKEN)}


def wait_for_job(http: httpx.Client, job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    path = f"/api/digest/jobs/{job_id}"
    while (job := http.get(path, headers=as_alice()).json())["status"] not in (
        "done",
        "failed",
    ):
        assert time.monotonic() < deadline, job
        time.sleep(0.05)
    return job


@pytest.mark.parametrize("mode", ["wrong_shape", "garbage", "truncated"])
def test_a_digest_job_fails_with_the_reason_the_ai_gave(
    upstream: httpx.Client, ai_stub: OpenAIStub, mode: str
) -> None:
    ai_stub.mode = mode
    response = upstream.post("/api/digest/jobs", json={"limit": 2}, headers=as_alice())
    assert response.status_code == 202, response.text
    job = wait_for_job(upstream, response.json()["job_id"])
    assert job["status"] == "failed"
    assert (
        job["error"]
        == {
            "wrong_shape": "the AI service answered without a message",
            "garbage": "the AI service answered with garbage (not JSON)",
            "truncated": "the AI service failed: APIConnectionError",
        }[mode]
    )


def test_the_ai_answering_well_again_writes_the_digest(
    upstream: httpx.Client, ai_stub: OpenAIStub
) -> None:
    ai_stub.mode = "wrong_shape"
    error(upstream.post("/api/digest/generate", json={"limit": 2}), 502)
    ai_stub.mode = "ok"
    response = upstream.post("/api/digest/generate", json={"limit": 2})
    assert response.status_code == 200, response.text
    assert response.json()["digest"]["text"].startswith("AI digest: ")


# --- the Telegram Bot API ------------------------------------------------------------------

# A busy Bot API (no answer in time, a 5xx, a dropped connection) is tried again.
BUSY_REASONS = {"timed out", "HTTP 500", "connection failed"}
TELEGRAM_FAULTS = [
    ("hang", None, "timed out"),
    ("error", None, "HTTP 500"),
    ("garbage", None, "the answer is not JSON"),
    ("truncated", None, "connection failed"),
    ("wrong_shape", {"result": {"message_id": 1}}, "the answer is not a Bot API answer"),
    ("wrong_shape", [{"ok": True}], "the answer is not a Bot API answer"),
    ("wrong_shape", "ok", "the answer is not a Bot API answer"),
    ("wrong_shape", {"ok": False}, "the Bot API answered ok=false"),
    ("wrong_shape", {"ok": "true", "result": {}}, "the Bot API answered ok=false"),
]


def broadcast_outcome(http: httpx.Client, broadcast_id: int) -> dict[str, Any]:
    """The broadcast once its jobs have sent or failed every message."""
    deadline = time.monotonic() + 30
    while True:
        response = http.get(f"/admin/api/digest/broadcast/{broadcast_id}", headers=ADMIN)
        found = response.json()["broadcast"]
        if found["pending"] == 0:
            return found
        assert time.monotonic() < deadline, found
        time.sleep(0.1)


@pytest.mark.parametrize(("mode", "body", "reason"), TELEGRAM_FAULTS)
def test_a_failing_bot_api_is_counted_with_its_reason(
    upstream: httpx.Client, telegram: TelegramBotAPIStub, mode: str, body: Any, reason: str
) -> None:
    telegram.mode, telegram.wrong_shape_body = mode, body
    # The AI writes the digest first: it must answer, or the broadcast is a 502.
    response = upstream.post(
        "/admin/api/digest/broadcast", json={"category": "markets", "dry_run": False}, headers=ADMIN
    )
    assert response.status_code == 200, response.text
    result = broadcast_outcome(upstream, response.json()["broadcast_id"])
    recipients = result["recipients"]
    assert recipients >= 1
    assert (result["sent"], result["failed"]) == (0, recipients)
    assert result["failures"] == {reason: recipients}
    attempts = 2 if reason in BUSY_REASONS else 1  # jobs_max_attempts
    assert len(telegram.requests) == recipients * attempts and telegram.sent == []


def test_a_bot_api_that_answers_well_delivers(
    upstream: httpx.Client, telegram: TelegramBotAPIStub
) -> None:
    response = upstream.post(
        "/admin/api/digest/broadcast", json={"category": "markets", "dry_run": False}, headers=ADMIN
    )
    result = broadcast_outcome(upstream, response.json()["broadcast_id"])
    assert (result["failed"], result["failures"]) == (0, {})
    assert result["sent"] == result["recipients"] == len(telegram.sent) >= 1


# --- feeds --------------------------------------------------------------------------------

FEED_FAULTS = {
    "hang": f"timed out after {TIMEOUT:g} s",
    "error": "HTTP 500",
    "garbage": "not a feed",
    "wrong_shape": "not a feed",
    "truncated": "connection failed",
}


def add_source(http: httpx.Client, name: str, url: str) -> int:
    body = {"name": name, "url": url, "category": "tech"}
    response = http.post("/admin/api/sources", json=body, headers=ADMIN)
    assert response.status_code == 201, response.text
    return response.json()["source"]["id"]


def test_each_failing_feed_is_that_sources_error(upstream: httpx.Client, feeds: FeedServer) -> None:
    run = time.monotonic_ns()  # the module's gateway keeps its rows: names must be new
    ids = {}
    for mode in FEED_FAULTS:
        path = feeds.add_fault(f"/{mode}.xml", mode)
        ids[mode] = add_source(upstream, f"{mode} {run}", feeds.feed_url(path) + f"?{run}")
    for mode, source_id in ids.items():
        response = upstream.post(f"/admin/api/sources/{source_id}/fetch", headers=ADMIN)
        assert response.status_code == 200, response.text
        assert response.json() == {"fetched": 0, "inserted": 0, "error": FEED_FAULTS[mode]}, mode
    response = upstream.post("/admin/api/ingest", headers=ADMIN)
    assert response.status_code == 200, response.text
    errors = {result["source_id"]: result["error"] for result in response.json()["sources"]}
    assert {mode: errors[source_id] for mode, source_id in ids.items()} == FEED_FAULTS


def test_feed_items_with_absurd_dates_are_stored_at_the_fetch_time(
    upstream: httpx.Client, feeds: FeedServer
) -> None:
    run = time.monotonic_ns()
    dates = {
        "year one": datetime(1, 1, 1, tzinfo=UTC),
        "year 866": datetime(866, 12, 10, 9, 53, 32, tzinfo=UTC),
        "year 1901": datetime(1901, 12, 13, 20, 45, 52, tzinfo=UTC),
        "year 9999": datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC),
        "sane": datetime(2024, 5, 1, 8, 0, tzinfo=UTC),
    }
    items = [
        {"title": f"{name} {run}", "link": f"https://dates.test/{run}/{n}", "published": moment}
        for n, (name, moment) in enumerate(dates.items())
    ]
    source_id = add_source(upstream, f"Dates {run}", feeds.feed_url(feeds.add_rss("/d.xml", items)))
    before = datetime.now(UTC).replace(microsecond=0, tzinfo=None)
    response = upstream.post(f"/admin/api/sources/{source_id}/fetch", headers=ADMIN)
    after = datetime.now(UTC).replace(tzinfo=None) + timedelta(seconds=1)
    assert response.json() == {"fetched": 5, "inserted": 5, "error": None}
    found = upstream.get("/api/news/search", params={"q": str(run), "limit": 10}).json()["items"]
    stamps = {item["title"].split(f" {run}")[0]: item["published_at"] for item in found}
    assert stamps.pop("sane") == "2024-05-01T08:00:00Z"
    assert set(stamps) == {"year one", "year 866", "year 1901", "year 9999"}
    for stamp in stamps.values():
        assert before <= datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ") <= after, stamps
