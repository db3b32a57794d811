"""`POST /admin/api/digest/broadcast`: a digest to subscribers through a Telegram Bot API
stand-in on 127.0.0.1, a job per message, followed with `GET .../broadcast/<id>`.
Many recipients, flood control and retries: tests/jobs/test_broadcast.py."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from shared.database.demo import demo_rows
from tests.conftest import ADMIN_TOKEN, ANCHOR
from tests.support.gateway_server import GatewayServer
from tests.support.servers import TelegramBotAPIStub

StartGateway = Callable[..., tuple[GatewayServer, httpx.Client]]
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
BOT_TOKEN = "123:abc"
DEMO = demo_rows(ANCHOR)
TELEGRAM_ID = {i: row["telegram_id"] for i, row in enumerate(DEMO["users"], 1)}


def subscribers(category: str | None = None) -> set[int]:
    """Telegram ids of the demo users who are not blocked and follow `category` (any)."""
    blocked = {i for i, row in enumerate(DEMO["users"], 1) if row["is_blocked"]}
    return {
        TELEGRAM_ID[row["user_id"]]
        for row in DEMO["subscriptions"]
        if row["user_id"] not in blocked and category in (None, row["category"])
    }


@pytest.fixture(scope="module")
def telegram() -> Iterator[TelegramBotAPIStub]:
    with TelegramBotAPIStub() as stub:
        yield stub


# Jobs are picked up at once, and a busy Bot API is retried twice, soon.
QUICK_JOBS = {"jobs_poll_seconds": 0.1, "jobs_max_attempts": 2, "jobs_retry_base_seconds": 0.1}


@pytest.fixture
def bot(start_gateway: StartGateway, telegram: TelegramBotAPIStub) -> httpx.Client:
    telegram.reset()
    return start_gateway(
        telegram_bot_token=BOT_TOKEN, telegram_api_base_url=telegram.base_url, **QUICK_JOBS
    )[1]


def broadcast(http: httpx.Client, **body: Any) -> httpx.Response:
    return http.post("/admin/api/digest/broadcast", json=body, headers=ADMIN)


def finished(http: httpx.Client, broadcast_id: int, *, seconds: float = 30) -> dict[str, Any]:
    """`GET` the broadcast until no message is pending."""
    deadline = time.monotonic() + seconds
    while True:
        response = http.get(f"/admin/api/digest/broadcast/{broadcast_id}", headers=ADMIN)
        assert response.status_code == 200, response.text
        found = response.json()["broadcast"]
        if found["pending"] == 0:
            return found
        assert time.monotonic() < deadline, f"still pending after {seconds} s: {found}"
        time.sleep(0.1)


def sent_broadcast(http: httpx.Client, **body: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """A real broadcast's answer, and its record once every message is sent or failed."""
    response = broadcast(http, dry_run=False, **body)
    assert response.status_code == 200, response.text
    started = response.json()
    assert (started["sent"], started["failed"]) == (0, 0)
    assert started["pending"] == started["recipients"]
    return started, finished(http, started["broadcast_id"])


def stats(http: httpx.Client) -> dict[str, int]:
    return http.get("/admin/api/stats", headers=ADMIN).json()


def test_the_digest_goes_to_every_subscriber_once(
    bot: httpx.Client, telegram: TelegramBotAPIStub
) -> None:
    body, done = sent_broadcast(bot)
    expected = subscribers()
    assert body["recipients"] == len(expected)
    assert (done["recipients"], done["sent"], done["failed"]) == (len(expected), len(expected), 0)
    assert done["failures"] == {}
    assert (done["digest_id"], done["text"], done["category"]) == (
        body["digest_id"],
        body["text"],
        None,
    )
    assert body["dry_run"] is False
    assert {message.chat_id for message in telegram.sent} == expected
    assert len(telegram.sent) == len(expected)
    assert {message.token for message in telegram.sent} == {BOT_TOKEN}
    assert {message.text for message in telegram.sent} == {body["text"]}
    assert body["text"].startswith("Brief for everyone: ")  # the extractive writer
    # The digest sent is stored like any other, and the broadcast is audited.
    assert stats(bot)["digests"] == len(DEMO["digests"]) + 1
    # Digest ids are random (they must not reveal how many exist): JS-safe positive integers.
    assert isinstance(body["digest_id"], int) and 0 < body["digest_id"] < 2**53
    entry = bot.get("/admin/api/audit", params={"limit": 1}, headers=ADMIN).json()["items"][0]
    assert entry["action"] == "digest.broadcast"
    assert entry["target"] == f"digests:{body['digest_id']}"
    assert entry["details"] == {
        "category": None,
        "broadcast_id": body["broadcast_id"],
        "recipients": len(expected),
    }


def test_a_category_reaches_only_its_subscribers_and_never_blocked_users(
    bot: httpx.Client, telegram: TelegramBotAPIStub
) -> None:
    markets = subscribers("markets")
    assert len(markets) == 2
    blocked_id = min(markets)
    user_id = next(i for i, tg in TELEGRAM_ID.items() if tg == blocked_id)
    blocked = bot.post(f"/admin/api/users/{user_id}/block", json={"blocked": True}, headers=ADMIN)
    assert blocked.status_code == 200
    body, done = sent_broadcast(bot, category="markets")
    assert (done["recipients"], done["sent"], done["failed"]) == (1, 1, 0)
    assert [message.chat_id for message in telegram.sent] == sorted(markets - {blocked_id})
    assert "[markets]" in body["text"] and "[crypto]" not in body["text"]


def test_failed_deliveries_are_counted_not_fatal(
    bot: httpx.Client, telegram: TelegramBotAPIStub
) -> None:
    failing = min(subscribers())
    telegram.failing_chat_ids = {failing}
    _, done = sent_broadcast(bot)
    expected = subscribers()
    assert (done["recipients"], done["sent"], done["failed"]) == (
        len(expected),
        len(expected) - 1,
        1,
    )
    assert done["failures"] == {"HTTP 403": 1}
    assert {message.chat_id for message in telegram.sent} == expected - {failing}
    assert len(telegram.requests) == len(expected)  # a 403 is final: tried once


def test_an_unreachable_bot_api_fails_every_delivery(start_gateway: StartGateway) -> None:
    _, http = start_gateway(
        telegram_bot_token=BOT_TOKEN, telegram_api_base_url="http://127.0.0.1:9", **QUICK_JOBS
    )
    _, done = sent_broadcast(http, category="crypto")
    expected = len(subscribers("crypto"))
    assert (done["recipients"], done["sent"], done["failed"]) == (expected, 0, expected)
    # Tried again (a connection may come back), then failed on the last attempt.
    assert done["failures"] == {"connection failed": expected}


def test_a_dry_run_sends_and_stores_nothing(
    bot: httpx.Client, telegram: TelegramBotAPIStub
) -> None:
    body = broadcast(bot, category="tech", dry_run=True).json()
    assert body == {
        "recipients": len(subscribers("tech")),
        "sent": 0,
        "failed": 0,
        "pending": 0,
        "failures": {},
        "dry_run": True,
        "broadcast_id": None,
        "digest_id": None,
        "text": body["text"],
    }
    assert "[tech]" in body["text"]
    assert telegram.requests == []
    assert stats(bot)["digests"] == len(DEMO["digests"])
    actions = [
        entry["action"] for entry in bot.get("/admin/api/audit", headers=ADMIN).json()["items"]
    ]
    assert "digest.broadcast" not in actions
    # The preview is the text a real broadcast sends.
    real, _ = sent_broadcast(bot, category="tech")
    assert real["text"] == body["text"]


def test_without_a_bot_token_only_dry_runs_work(client: httpx.Client) -> None:
    response = broadcast(client, dry_run=False)
    assert response.status_code == 503
    assert response.json()["error"] == {
        "code": "unavailable",
        "message": "broadcast is not configured (TELEGRAM_BOT_TOKEN is unset)",
    }
    assert broadcast(client, dry_run=True).json()["recipients"] == len(subscribers())
    assert stats(client)["digests"] == len(DEMO["digests"])


def test_bad_broadcast_requests_are_400(client: httpx.Client) -> None:
    cases = [
        ({}, "dry_run", "dry_run is required"),
        ({"dry_run": "false"}, "dry_run", "dry_run must be a boolean"),
        ({"dry_run": 0}, "dry_run", "dry_run must be a boolean"),
        (
            {"dry_run": True, "category": "bitcoin"},
            "category",
            "category must be one of: crypto, sports, markets, tech, world",
        ),
        ({"dry_run": True, "category": 5}, "category", "category must be a string"),
    ]
    for body, field, message in cases:
        response = client.post("/admin/api/digest/broadcast", json=body, headers=ADMIN)
        assert response.status_code == 400, body
        assert response.json()["error"] == {
            "code": "invalid_parameter",
            "message": message,
            "field": field,
        }


def test_an_unknown_or_bad_broadcast_id(client: httpx.Client) -> None:
    missing = client.get("/admin/api/digest/broadcast/999999", headers=ADMIN)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    bad = client.get("/admin/api/digest/broadcast/0", headers=ADMIN)
    assert bad.status_code == 400
    assert bad.json()["error"]["field"] == "broadcast_id"
    assert client.get("/admin/api/digest/broadcast/1").status_code == 401
