"""The news endpoints besides /latest: lists, one item, search, trending, feedback,
per-source and per-category pages, stats; and the sources they come from."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from shared.categories import CATEGORIES, CATEGORY_TREE
from shared.telegram_auth import sign_init_data
from tests.support.gateway_server import GatewayServer

ITEM_KEYS = {
    "id",
    "title",
    "summary",
    "link",
    "source",
    "category",
    "subcategory",
    "importance",
    "published_at",
}
DEMO_NEWS = 150  # six per subcategory
BOT_TOKEN = "123456:test-bot-token"
ALICE = {"id": 100000001, "username": "alice"}  # users.id 1 in the demo data
CATEGORY_LIST = "must be known categories or subcategories, separated by commas"


def error(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message}
    if field is not None:
        body["field"] = field
    return {"error": body}


def invalid(field: str, message: str) -> dict[str, Any]:
    return error("invalid_parameter", f"{field} {message}", field)


def page_of(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert list(body) == ["items", "total", "limit", "offset"]
    return body


def parse(stamp: str) -> datetime:
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ")


def newest_first(items: list[dict]) -> bool:
    keys = [(item["published_at"], item["id"]) for item in items]
    return keys == sorted(keys, reverse=True)


def most_important_first(items: list[dict]) -> bool:
    keys = [(item["importance"], item["published_at"], item["id"]) for item in items]
    return keys == sorted(keys, reverse=True)


# --- GET /api/sources ---------------------------------------------------------------------


def test_sources_lists_enabled_sources_only(client: httpx.Client) -> None:
    response = client.get("/api/sources")
    assert response.status_code == 200
    sources = response.json()["sources"]
    assert [source["id"] for source in sources] == [1, 2, 3, 4, 5, 6, 7, 9, 10]  # 8 is disabled
    assert sources[0] == {"id": 1, "name": "CoinDesk Demo", "category": "crypto"}


# --- GET /api/news ------------------------------------------------------------------------


def test_news_list_is_a_newest_first_page(client: httpx.Client) -> None:
    body = page_of(client.get("/api/news"))
    assert (body["total"], body["limit"], body["offset"]) == (DEMO_NEWS, 20, 0)
    assert len(body["items"]) == 20
    assert set(body["items"][0]) == ITEM_KEYS
    assert newest_first(body["items"])
    second = page_of(client.get("/api/news", params={"limit": 10, "offset": 10}))
    assert second["items"] == body["items"][10:20]
    assert page_of(client.get("/api/news", params={"offset": 1000}))["items"] == []


def test_news_list_filters_by_a_comma_list_of_categories(client: httpx.Client) -> None:
    body = page_of(client.get("/api/news", params={"category": "sports, ai", "limit": 100}))
    assert body["total"] == 30 + 6
    for item in body["items"]:
        assert item["category"] == "sports" or item["subcategory"] == "ai"


def test_news_list_filters_by_source_name(client: httpx.Client) -> None:
    body = page_of(client.get("/api/news", params={"source": "ESPN Demo", "limit": 100}))
    assert body["total"] == 15
    assert {item["source"] for item in body["items"]} == {"ESPN Demo"}
    unknown = page_of(client.get("/api/news", params={"source": "Nobody Demo"}))
    assert (unknown["items"], unknown["total"]) == ([], 0)


def test_news_list_since_is_inclusive_and_until_exclusive(client: httpx.Client) -> None:
    everything = page_of(client.get("/api/news", params={"limit": 100}))["items"]
    pivot = everything[10]["published_at"]
    since = page_of(client.get("/api/news", params={"since": pivot, "limit": 100}))
    assert [item["id"] for item in since["items"]] == [item["id"] for item in everything[:11]]
    until = page_of(client.get("/api/news", params={"until": pivot, "limit": 100}))
    assert until["total"] == DEMO_NEWS - 11
    assert until["items"][0] == everything[11]
    # An offset is converted to UTC: the same instant two hours east.
    east = (parse(pivot) + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S+02:00")
    assert page_of(client.get("/api/news", params={"since": east}))["total"] == 11


def test_news_list_by_importance(client: httpx.Client) -> None:
    body = page_of(client.get("/api/news", params={"order": "importance", "category": "tech"}))
    assert body["total"] == 30
    assert most_important_first(body["items"])


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"category": "cooking"}, invalid("category", CATEGORY_LIST)),
        ({"category": "crypto,"}, invalid("category", CATEGORY_LIST)),
        ({"source": ""}, invalid("source", "must be at least 1 characters")),
        ({"since": "yesterday"}, invalid("since", "must be an ISO-8601 timestamp")),
        (
            {"since": "2025-01-02T00:00:00Z", "until": "2025-01-01T00:00:00Z"},
            invalid("until", "must be after since"),
        ),
        (
            {"order": "random"},
            invalid("order", "must be one of: 'published_at' or 'importance'"),
        ),
        ({"limit": 0}, invalid("limit", "must be greater than or equal to 1")),
        ({"offset": -1}, invalid("offset", "must be greater than or equal to 0")),
        ({"offset": 2**31}, invalid("offset", "must be less than or equal to 2147483647")),
    ],
)
def test_bad_news_list_parameters_are_400(
    client: httpx.Client, params: dict, expected: dict
) -> None:
    response = client.get("/api/news", params=params)
    assert response.status_code == 400
    assert response.json() == expected


# --- GET /api/news/<id> -------------------------------------------------------------------


def test_one_news_item_has_its_feedback_counts(client: httpx.Client) -> None:
    latest = client.get("/api/news/latest", params={"limit": 1}).json()["news"][0]
    response = client.get("/api/news/150")
    assert response.status_code == 200
    assert response.json() == {**latest, "likes": 2, "dislikes": 0}
    assert client.get("/api/news/2").json()["likes"] == 0


@pytest.mark.parametrize("news_id", ["9999", "0", "99999999999999999999"])
def test_unknown_news_item_is_404(client: httpx.Client, news_id: str) -> None:
    response = client.get(f"/api/news/{news_id}")
    assert response.status_code == 404
    assert response.json() == error("not_found", "news item not found")


# --- GET /api/news/search -----------------------------------------------------------------


def test_search_matches_title_or_summary_case_insensitively(client: httpx.Client) -> None:
    body = page_of(client.get("/api/news/search", params={"q": "BitCoin", "limit": 100}))
    assert body["total"] > 0
    assert newest_first(body["items"])
    for item in body["items"]:
        assert "bitcoin" in (item["title"] + " " + item["summary"]).lower()
    summaries = page_of(client.get("/api/news/search", params={"q": "on-chain volume"}))
    assert summaries["total"] > 0
    assert all("on-chain volume" in item["summary"] for item in summaries["items"])


def test_search_wildcards_match_themselves(client: httpx.Client) -> None:
    assert page_of(client.get("/api/news/search", params={"q": "bitco_n"}))["total"] == 0
    assert page_of(client.get("/api/news/search", params={"q": "bit%"}))["total"] == 0
    percent = page_of(client.get("/api/news/search", params={"q": "% more"}))
    assert percent["total"] > 0
    assert all("% more" in item["summary"] for item in percent["items"])


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, invalid("q", "is required")),
        ({"q": "a"}, invalid("q", "must be at least 2 characters")),
        ({"q": "  a  "}, invalid("q", "must be at least 2 characters")),
        ({"q": "x" * 101}, invalid("q", "must be at most 100 characters")),
        ({"q": "bitcoin", "limit": 101}, invalid("limit", "must be less than or equal to 100")),
    ],
)
def test_bad_search_parameters_are_400(client: httpx.Client, params: dict, expected: dict) -> None:
    response = client.get("/api/news/search", params=params)
    assert response.status_code == 400
    assert response.json() == expected


# --- GET /api/news/trending and /api/news/top ---------------------------------------------


def test_trending_is_the_window_by_importance(client: httpx.Client) -> None:
    now = datetime.now(UTC).replace(tzinfo=None)
    day = page_of(client.get("/api/news/trending", params={"limit": 100}))
    assert day["total"] > 0
    assert most_important_first(day["items"])
    for item in day["items"]:
        assert now - timedelta(hours=24, minutes=1) <= parse(item["published_at"]) <= now
    week = page_of(client.get("/api/news/trending", params={"hours": 168, "limit": 100}))
    assert week["total"] > day["total"]


def test_top_is_the_last_24_hours_by_importance(client: httpx.Client) -> None:
    top = page_of(client.get("/api/news/top", params={"limit": 5}))
    trending = page_of(client.get("/api/news/trending", params={"limit": 5}))
    assert top == trending
    assert top["limit"] == 5


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"hours": 0}, invalid("hours", "must be greater than or equal to 1")),
        ({"hours": 169}, invalid("hours", "must be less than or equal to 168")),
        ({"hours": "day"}, invalid("hours", "must be an integer")),
    ],
)
def test_bad_trending_parameters_are_400(
    client: httpx.Client, params: dict, expected: dict
) -> None:
    response = client.get("/api/news/trending", params=params)
    assert response.status_code == 400
    assert response.json() == expected


def test_bad_top_limit_is_400(client: httpx.Client) -> None:
    response = client.get("/api/news/top", params={"limit": "ten"})
    assert response.status_code == 400
    assert response.json() == invalid("limit", "must be an integer")


# --- POST /api/news/<id>/feedback ---------------------------------------------------------


def test_feedback_counts_one_vote_per_user(client: httpx.Client) -> None:
    def vote(user_id: int, value: int) -> dict:
        response = client.post("/api/news/100/feedback", json={"user_id": user_id, "value": value})
        assert response.status_code == 200
        return response.json()

    assert vote(1, 1) == {"news_id": 100, "likes": 1, "dislikes": 0}
    assert vote(1, 1) == {"news_id": 100, "likes": 1, "dislikes": 0}
    assert vote(1, -1) == {"news_id": 100, "likes": 0, "dislikes": 1}  # the re-vote replaces
    assert vote(2, 1) == {"news_id": 100, "likes": 1, "dislikes": 1}
    item = client.get("/api/news/100").json()
    assert (item["likes"], item["dislikes"]) == (1, 1)


@pytest.mark.parametrize(
    ("news_id", "payload", "status", "expected"),
    [
        (100, {"user_id": 1, "value": 0}, 400, invalid("value", "must be 1 or -1")),
        (100, {"user_id": 1, "value": "1"}, 400, invalid("value", "must be an integer")),
        (100, {"user_id": 1, "value": True}, 400, invalid("value", "must be an integer")),
        (100, {"user_id": 1}, 400, invalid("value", "is required")),
        (100, {"value": 1}, 400, invalid("user_id", "is required")),
        (
            100,
            {"user_id": 2**31, "value": 1},
            400,
            invalid("user_id", "must be less than or equal to 2147483647"),
        ),
        (100, {"user_id": 999, "value": 1}, 404, error("not_found", "user not found")),
        (100, {"user_id": 5, "value": 1}, 403, error("forbidden", "this user is blocked")),
        (9999, {"user_id": 1, "value": 1}, 404, error("not_found", "news item not found")),
        (9999, {"user_id": 999, "value": 1}, 404, error("not_found", "user not found")),
    ],
)
def test_bad_feedback_is_refused(
    client: httpx.Client, news_id: int, payload: dict, status: int, expected: dict
) -> None:
    response = client.post(f"/api/news/{news_id}/feedback", json=payload)
    assert response.status_code == status
    assert response.json() == expected


def test_feedback_body_must_be_a_json_object(client: httpx.Client) -> None:
    response = client.post(
        "/api/news/100/feedback", content=b"value=1", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json() == error("invalid_json", "request body is not valid JSON")


def test_feedback_with_a_bot_token_acts_as_the_telegram_user(
    start_gateway: Callable[..., tuple[GatewayServer, httpx.Client]],
) -> None:
    _, http = start_gateway(telegram_bot_token=BOT_TOKEN)
    proof = {"X-Telegram-Init-Data": sign_init_data(ALICE, bot_token=BOT_TOKEN)}
    response = http.post("/api/news/100/feedback", json={"value": 1}, headers=proof)
    assert response.json() == {"news_id": 100, "likes": 1, "dislikes": 0}
    as_bob = http.post("/api/news/100/feedback", json={"user_id": 2, "value": 1}, headers=proof)
    assert as_bob.status_code == 403
    anonymous = http.post("/api/news/100/feedback", json={"user_id": 1, "value": 1})
    assert anonymous.status_code == 401


# --- GET /api/news/by-source/<source> -----------------------------------------------------


def test_news_by_source_is_a_newest_first_page(client: httpx.Client) -> None:
    body = page_of(client.get("/api/news/by-source/CoinDesk Demo", params={"limit": 10}))
    assert (body["total"], body["limit"], body["offset"]) == (15, 10, 0)
    assert {item["source"] for item in body["items"]} == {"CoinDesk Demo"}
    assert newest_first(body["items"])
    rest = page_of(client.get("/api/news/by-source/CoinDesk Demo", params={"offset": 10}))
    assert len(rest["items"]) == 5


def test_disabled_source_without_news_is_an_empty_page(client: httpx.Client) -> None:
    body = page_of(client.get("/api/news/by-source/The Verge Demo"))
    assert (body["items"], body["total"]) == ([], 0)


@pytest.mark.parametrize("source", ["Nobody", "coindesk demo"])
def test_unknown_source_is_404(client: httpx.Client, source: str) -> None:
    response = client.get(f"/api/news/by-source/{source}")
    assert response.status_code == 404
    assert response.json() == error("not_found", "source not found")


def test_bad_limit_is_checked_before_the_source(client: httpx.Client) -> None:
    response = client.get("/api/news/by-source/Nobody", params={"limit": 0})
    assert response.status_code == 400
    assert response.json() == invalid("limit", "must be greater than or equal to 1")


# --- GET /api/news/category/<category> ----------------------------------------------------


def test_news_by_category_pages_a_category_or_subcategory(client: httpx.Client) -> None:
    crypto = page_of(client.get("/api/news/category/crypto", params={"limit": 100}))
    assert crypto["total"] == 30
    assert {item["category"] for item in crypto["items"]} == {"crypto"}
    assert newest_first(crypto["items"])
    tennis = page_of(client.get("/api/news/category/tennis", params={"offset": 4}))
    assert (tennis["total"], len(tennis["items"]), tennis["offset"]) == (6, 2, 4)
    assert {item["subcategory"] for item in tennis["items"]} == {"tennis"}


@pytest.mark.parametrize("category", ["cooking", "Crypto", "crypto,tech"])
def test_unknown_category_is_404(client: httpx.Client, category: str) -> None:
    response = client.get(f"/api/news/category/{category}")
    assert response.status_code == 404
    assert response.json() == error("not_found", "category not found")


def test_bad_offset_is_checked_before_the_category(client: httpx.Client) -> None:
    response = client.get("/api/news/category/cooking", params={"offset": -1})
    assert response.status_code == 400
    assert response.json() == invalid("offset", "must be greater than or equal to 0")


# --- GET /api/news/stats ------------------------------------------------------------------


def test_stats_count_every_category(client: httpx.Client) -> None:
    response = client.get("/api/news/stats")
    assert response.status_code == 200
    latest = client.get("/api/news/latest", params={"limit": 1}).json()["news"][0]
    assert response.json() == {
        "total": DEMO_NEWS,
        "by_category": {name: len(CATEGORY_TREE[name]) * 6 for name in CATEGORIES},
        "last_published_at": latest["published_at"],
    }
