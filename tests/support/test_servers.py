"""Prove the stand-in servers behave like the services they replace, through real clients."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import UTC, datetime, timedelta

import feedparser
import httpx
import openai
import pytest

from .servers import (
    FAULT_MODES,
    FeedServer,
    OpenAIStub,
    SentMessage,
    TelegramBotAPIStub,
    make_items,
)

MESSAGES = [
    {"role": "system", "content": "You write digests."},
    {"role": "user", "content": "Write a brief digest of 3 items.\n- [tech] A: b"},
]


def _client(stub: OpenAIStub, **kwargs: float) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(
        api_key="test",
        base_url=stub.base_url + "/v1",
        max_retries=0,
        http_client=openai.DefaultAsyncHttpxClient(trust_env=False),
        **kwargs,  # type: ignore[arg-type]
    )


async def _complete(stub: OpenAIStub, **kwargs: float) -> str | None:
    async with _client(stub, **kwargs) as client:
        completion = await client.chat.completions.create(model="gpt-test", messages=MESSAGES)
    assert completion.model == "gpt-test"
    assert completion.usage is not None and completion.usage.total_tokens > 0
    return completion.choices[0].message.content


def test_openai_stub_answers_and_records() -> None:
    with OpenAIStub() as stub:
        assert asyncio.run(_complete(stub)) == "AI digest: Write a brief digest of 3 items."
        stub.reply_prefix = "Summary: "
        assert asyncio.run(_complete(stub)) == "Summary: Write a brief digest of 3 items."
        (first, _second) = stub.requests
        assert first["path"] == "/v1/chat/completions"
        assert first["headers"]["authorization"] == "Bearer test"
        assert first["json"]["model"] == "gpt-test"
        models = httpx.get(stub.base_url + "/v1/models", trust_env=False).json()
        assert models["data"][0]["id"]
        stub.reset()
        assert stub.requests == [] and stub.reply_prefix == "AI digest: "


def test_openai_stub_error_and_garbage() -> None:
    with OpenAIStub(mode="error") as stub:
        with pytest.raises(openai.InternalServerError):
            asyncio.run(_complete(stub))
        stub.mode = "garbage"  # the SDK does not wrap this in openai.APIError
        with pytest.raises(ValueError):
            asyncio.run(_complete(stub))
        stub.garbage_content_type = "text/html"  # ...and here it returns the body as a str
        with pytest.raises(AttributeError):
            asyncio.run(_complete(stub))


def test_openai_stub_delay_beats_client_timeout() -> None:
    with OpenAIStub(delay_seconds=5) as stub:
        started = time.monotonic()
        with pytest.raises(openai.APITimeoutError):
            asyncio.run(_complete(stub, timeout=0.3))
        assert time.monotonic() - started < 2


def test_openai_stub_hang_does_not_block_stop() -> None:
    stub = OpenAIStub(mode="hang").start()
    errors: list[BaseException] = []

    def call() -> None:
        try:
            asyncio.run(_complete(stub, timeout=30))
        except BaseException as exc:  # noqa: BLE001 - the dropped connection is the point
            errors.append(exc)

    caller = threading.Thread(target=call, daemon=True)
    caller.start()
    deadline = time.monotonic() + 5
    while not stub.requests and time.monotonic() < deadline:
        time.sleep(0.02)
    assert stub.requests, "the hanging request never arrived"
    started = time.monotonic()
    stub.stop()
    assert time.monotonic() - started < 2
    caller.join(timeout=5)
    assert not caller.is_alive()
    assert errors and isinstance(errors[0], openai.APIConnectionError)


def test_telegram_stub_sends_and_fails() -> None:
    with TelegramBotAPIStub() as tg, httpx.Client(base_url=tg.base_url, trust_env=False) as http:
        tg.failing_chat_ids.add(666)
        ok = http.post("/bot123:ABC/sendMessage", json={"chat_id": 42, "text": "hi"}).json()
        assert ok["ok"] and ok["result"]["chat"]["id"] == 42 and ok["result"]["text"] == "hi"
        blocked = http.post("/bot123:ABC/sendMessage", json={"chat_id": 666, "text": "hi"})
        assert blocked.status_code == 403
        assert blocked.json()["description"] == "Forbidden: bot was blocked by the user"
        form = http.post("/bot123:ABC/sendMessage", data={"chat_id": "7", "text": "form"})
        assert form.json()["result"]["chat"]["id"] == 7
        assert http.get("/bot123:ABC/getMe").json()["result"]["is_bot"] is True
        missing = http.post("/bot123:ABC/nope", json={})
        assert missing.status_code == 404 and missing.json()["error_code"] == 404
        assert tg.sent == [SentMessage("123:ABC", 42, "hi"), ("123:ABC", 7, "form")]
        tg.reset()
        assert tg.sent == [] and tg.failing_chat_ids == set()


def test_telegram_stub_flood_control_and_unknown_chats() -> None:
    with TelegramBotAPIStub() as tg, httpx.Client(base_url=tg.base_url, trust_env=False) as http:
        tg.unknown_chat_ids.add(404)
        tg.busy_for(0.5, retry_after=3)
        busy = http.post("/bot1:A/sendMessage", json={"chat_id": 42, "text": "hi"})
        assert busy.status_code == 429
        assert busy.json()["parameters"] == {"retry_after": 3}
        time.sleep(0.6)
        assert http.post("/bot1:A/sendMessage", json={"chat_id": 42, "text": "hi"}).json()["ok"]
        unknown = http.post("/bot1:A/sendMessage", json={"chat_id": 404, "text": "hi"})
        assert unknown.status_code == 400
        assert unknown.json()["description"] == "Bad Request: chat not found"
        assert [r["flood_controlled"] for r in tg.requests] == [True, False, False]
        assert len(tg.call_times) == 3 and tg.sent == [SentMessage("1:A", 42, "hi")]
        tg.reset()
        assert tg.call_times == [] and tg.unknown_chat_ids == set()


def test_openai_stub_answers_errors_asked_for_in_order() -> None:
    with OpenAIStub() as stub:
        stub.errors_next((429, 7), (503, None))
        with pytest.raises(openai.RateLimitError) as limited:
            asyncio.run(_complete(stub))
        assert limited.value.response.headers["retry-after"] == "7"
        with pytest.raises(openai.InternalServerError) as failed:
            asyncio.run(_complete(stub))
        assert "retry-after" not in failed.value.response.headers
        assert asyncio.run(_complete(stub)) == "AI digest: Write a brief digest of 3 items."
        assert len(stub.call_times) == 3


def test_feed_server_rss_and_atom_parse() -> None:
    start = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
    items = make_items(
        3,
        prefix="Tech <News> & Co",
        start=start,
        step=timedelta(hours=2),
        link_base="http://127.0.0.1/a",
    )
    with FeedServer() as feeds, httpx.Client(trust_env=False) as http:
        feeds.add_rss("/rss.xml", items, title="RSS & Friends")
        feeds.add_atom("/atom.xml", items, title="Atom")
        for path in ("/rss.xml", "/atom.xml"):
            parsed = feedparser.parse(http.get(feeds.feed_url(path)).content)
            assert not parsed.bozo, parsed.get("bozo_exception")
            assert [e.title for e in parsed.entries] == [i["title"] for i in items]
            assert [e.link for e in parsed.entries] == [i["link"] for i in items]
            assert all(e.published_parsed for e in parsed.entries)
            assert parsed.entries[1].published_parsed[:5] == (2024, 5, 1, 10, 0)
        assert parsed.feed.title == "Atom"
        assert http.get(feeds.feed_url("/missing")).status_code == 404
        assert feeds.hits == {"/rss.xml": 1, "/atom.xml": 1, "/missing": 1}


def test_feed_server_delay_raw_and_huge() -> None:
    with FeedServer() as feeds, httpx.Client(trust_env=False) as http:
        feeds.add_raw("/broken", b"<rss><channel><title>oops", status=500)
        assert http.get(feeds.feed_url("/broken")).status_code == 500
        feeds.add_rss("/slow", make_items(1))
        feeds.set_delay("/slow", 0.4)
        with pytest.raises(httpx.ReadTimeout):
            http.get(feeds.feed_url("/slow"), timeout=0.1)
        started = time.monotonic()
        assert http.get(feeds.feed_url("/slow"), timeout=5).status_code == 200
        assert time.monotonic() - started >= 0.35
        feeds.add_huge("/huge", 3_000_000)
        with http.stream("GET", feeds.feed_url("/huge")) as response:
            body = b"".join(response.iter_bytes())
        assert len(body) == 3_000_000 and body.startswith(b"<?xml")
        with http.stream("GET", feeds.feed_url("/huge")) as response:  # client gives up early
            next(response.iter_bytes())
        assert http.get(feeds.feed_url("/slow"), timeout=5).status_code == 200


def test_every_stub_has_the_fault_modes() -> None:
    """hang, error, garbage, wrong_shape and truncated, as the modules that use them expect."""
    with (
        OpenAIStub(hang_seconds=5) as ai,
        TelegramBotAPIStub(hang_seconds=5) as tg,
        FeedServer() as feeds,
        httpx.Client(trust_env=False, timeout=0.3) as http,
    ):
        completions = ai.base_url + "/v1/chat/completions"
        send = tg.base_url + "/bot1:x/sendMessage"
        for mode in FAULT_MODES:
            ai.mode = tg.mode = mode
            feed = feeds.feed_url(feeds.add_fault(f"/{mode}", mode, hang_seconds=5))
            for url, method in ((completions, "POST"), (send, "POST"), (feed, "GET")):
                try:
                    response = http.request(method, url, json={"chat_id": 1, "text": "x"})
                except httpx.TimeoutException:
                    assert mode == "hang", url
                    continue
                except httpx.RemoteProtocolError:
                    assert mode == "truncated", url
                    continue
                assert mode not in ("hang", "truncated"), url
                if mode == "error":
                    assert response.status_code == 500, url
                    continue
                assert response.status_code == 200, url
                if mode == "garbage":
                    with pytest.raises(ValueError):
                        response.json()
                else:  # wrong_shape: JSON, but no completion, Bot API answer or feed
                    assert response.json() in (OpenAIStub.WRONG_SHAPE, tg.WRONG_SHAPE) or (
                        not feedparser.parse(response.content).get("version")
                    ), url
        assert tg.sent == []
