"""GET, POST /api/bookmarks and DELETE /api/bookmarks/<news_id>."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from shared.telegram_auth import sign_init_data
from tests.support.gateway_server import GatewayServer

StartGateway = Callable[..., tuple[GatewayServer, httpx.Client]]
BOT_TOKEN = "123456:test-bot-token"
ALICE = {"id": 100000001, "username": "alice"}  # users.id 1 in the demo data
NEWS_KEYS = {"id", "title", "summary", "link", "source", "category", "subcategory"}
NEWS_KEYS |= {"importance", "published_at"}


def error(response: httpx.Response) -> dict:
    return response.json()["error"]


def bookmarked_ids(client: httpx.Client, user_id: int) -> list[int]:
    body = client.get("/api/bookmarks", params={"user_id": user_id, "limit": 100}).json()
    return [item["id"] for item in body["items"]]


def test_bookmarks_are_news_items_newest_bookmark_first(client: httpx.Client) -> None:
    response = client.get("/api/bookmarks", params={"user_id": 1})
    assert response.status_code == 200
    body = response.json()
    assert (body["total"], body["limit"], body["offset"]) == (4, 20, 0)
    assert {item["id"] for item in body["items"]} == {150, 142, 120, 75}
    assert set(body["items"][0]) == NEWS_KEYS | {"bookmarked_at"}
    marked = [item["bookmarked_at"] for item in body["items"]]
    assert marked == sorted(marked, reverse=True)
    assert all(stamp.endswith("Z") for stamp in marked)
    news = client.get("/api/news/latest", params={"limit": 100}).json()["news"]
    by_id = {item["id"]: item for item in news}
    first = body["items"][0]
    if first["id"] in by_id:  # the same news item shape as everywhere else
        assert {key: first[key] for key in NEWS_KEYS} == by_id[first["id"]]


def test_bookmarks_page(client: httpx.Client) -> None:
    everything = bookmarked_ids(client, 1)
    body = client.get("/api/bookmarks", params={"user_id": 1, "limit": 2, "offset": 1}).json()
    assert [item["id"] for item in body["items"]] == everything[1:3]
    assert body["total"] == 4


def test_user_without_bookmarks_has_none(client: httpx.Client) -> None:
    body = client.get("/api/bookmarks", params={"user_id": 4}).json()
    assert body == {"items": [], "total": 0, "limit": 20, "offset": 0}


def test_adding_a_bookmark_puts_it_first(client: httpx.Client) -> None:
    response = client.post("/api/bookmarks", json={"user_id": 1, "news_id": 10})
    assert response.status_code == 201
    assert response.json() == {"success": True, "news_id": 10}
    assert bookmarked_ids(client, 1)[0] == 10


def test_adding_the_same_bookmark_twice_is_409(client: httpx.Client) -> None:
    response = client.post("/api/bookmarks", json={"user_id": 1, "news_id": 150})
    assert response.status_code == 409
    assert error(response) == {
        "code": "conflict",
        "message": "this news item is already bookmarked",
    }
    assert len(bookmarked_ids(client, 1)) == 4


def test_bookmarking_unknown_news_is_404(client: httpx.Client) -> None:
    response = client.post("/api/bookmarks", json={"user_id": 1, "news_id": 99999})
    assert response.status_code == 404
    assert error(response) == {"code": "not_found", "message": "news item not found"}


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ({"user_id": 1}, "news_id", "news_id is required"),
        ({"user_id": 1, "news_id": "10"}, "news_id", "news_id must be an integer"),
        ({"user_id": 1, "news_id": 0}, "news_id", "news_id must be greater than or equal to 1"),
        (
            {"user_id": 1, "news_id": 2**31},
            "news_id",
            "news_id must be less than or equal to 2147483647",
        ),
        ({"news_id": 10}, "user_id", "user_id is required"),
        ({"user_id": "1", "news_id": 10}, "user_id", "user_id must be an integer"),
    ],
)
def test_bad_new_bookmark_is_400_naming_the_field(
    client: httpx.Client, payload: dict, field: str, message: str
) -> None:
    response = client.post("/api/bookmarks", json=payload)
    assert response.status_code == 400
    assert error(response) == {"code": "invalid_parameter", "message": message, "field": field}


def test_bookmarks_of_unknown_or_blocked_user(client: httpx.Client) -> None:
    assert client.get("/api/bookmarks", params={"user_id": 999}).status_code == 404
    assert client.get("/api/bookmarks", params={"user_id": 5}).status_code == 403
    assert client.post("/api/bookmarks", json={"user_id": 5, "news_id": 1}).status_code == 403
    assert client.delete("/api/bookmarks/150", params={"user_id": 999}).status_code == 404


@pytest.mark.parametrize(
    ("params", "field"),
    [({}, "user_id"), ({"user_id": 0}, "user_id"), ({"user_id": 1, "limit": 101}, "limit")],
)
def test_bad_bookmark_list_query_is_400(client: httpx.Client, params: dict, field: str) -> None:
    response = client.get("/api/bookmarks", params=params)
    assert response.status_code == 400
    assert error(response)["field"] == field


def test_removing_a_bookmark(client: httpx.Client) -> None:
    response = client.delete("/api/bookmarks/150", params={"user_id": 1})
    assert response.status_code == 200
    assert response.json() == {"success": True, "news_id": 150}
    assert 150 not in bookmarked_ids(client, 1)
    assert 149 in bookmarked_ids(client, 2)  # someone else's bookmarks are untouched
    again = client.delete("/api/bookmarks/150", params={"user_id": 1})
    assert again.status_code == 404
    assert error(again) == {"code": "not_found", "message": "bookmark not found"}


def test_removing_someone_elses_bookmark_is_404(client: httpx.Client) -> None:
    assert client.delete("/api/bookmarks/149", params={"user_id": 1}).status_code == 404
    assert 149 in bookmarked_ids(client, 2)


def test_bad_removals(client: httpx.Client) -> None:
    missing = client.delete("/api/bookmarks/150")
    assert (missing.status_code, error(missing)["field"]) == (400, "user_id")
    zero = client.delete("/api/bookmarks/0", params={"user_id": 1})
    assert (zero.status_code, error(zero)["field"]) == (400, "news_id")
    assert client.delete("/api/bookmarks/abc", params={"user_id": 1}).status_code == 404


def test_with_a_bot_token_bookmarks_are_your_own(start_gateway: StartGateway) -> None:
    _, http = start_gateway(telegram_bot_token=BOT_TOKEN)
    proof = {"X-Telegram-Init-Data": sign_init_data(ALICE, bot_token=BOT_TOKEN)}
    assert http.get("/api/bookmarks").status_code == 401
    assert http.get("/api/bookmarks", headers=proof).json()["total"] == 4
    assert http.get("/api/bookmarks", params={"user_id": 2}, headers=proof).status_code == 403
    added = http.post("/api/bookmarks", json={"news_id": 10}, headers=proof)
    assert added.status_code == 201
    assert http.delete("/api/bookmarks/10", headers=proof).status_code == 200
