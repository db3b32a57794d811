"""The Telegram WebApp: its HTML pages and its two JSON endpoints (sign-in and the feed)."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest
from markupsafe import escape

from shared.categories import CATEGORIES, CATEGORY_TREE
from shared.digest import DIGEST_DEFAULTS, DIGEST_OPTIONS
from shared.telegram_auth import sign_init_data
from tests.support.gateway_server import GatewayServer

HTML = "text/html; charset=utf-8"
BOT_TOKEN = "123:abc"
ALICE = {"id": 100000001, "username": "alice", "language_code": "en"}  # users.id 1
ERIN = {"id": 100000005, "username": "erin"}  # blocked
NEWCOMER = {"id": 700000001, "username": "newcomer", "language_code": "pt-br"}
PAGES = {
    "/webapp/": "index",
    "/webapp/news": "news",
    "/webapp/events": "events",
    "/webapp/digest": "digest",
    "/webapp/subscriptions": "subscriptions",
    "/webapp/settings": "settings",
}
NAV_LINKS = ('href="./"', 'href="news"', 'href="events"', 'href="digest"')
NAV_LINKS += ('href="subscriptions"', 'href="settings"')
ALICE_CATEGORIES = {"crypto", "markets", "tech"}  # the demo subscriptions of user 1


def page(client: httpx.Client, path: str, **params: str) -> str:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == HTML
    return response.text


def latest_titles(client: httpx.Client, **params: object) -> list[str]:
    body = client.get("/api/news/latest", params=params).json()
    return [str(escape(item["title"])) for item in body["news"]]


def init_data(user: dict, **kwargs: object) -> str:
    return sign_init_data(user, bot_token=BOT_TOKEN, **kwargs)


@pytest.fixture
def telegram_client(
    start_gateway: Callable[..., tuple[GatewayServer, httpx.Client]],
) -> httpx.Client:
    return start_gateway(telegram_bot_token=BOT_TOKEN)[1]


# --- pages ----------------------------------------------------------------------------------


def test_every_page_is_html_with_the_nav_marking_itself(client: httpx.Client) -> None:
    for path, tab in PAGES.items():
        html = page(client, path)
        assert html.startswith("<!doctype html>"), path
        assert '<meta name="viewport"' in html, path
        for link in NAV_LINKS:
            assert link in html, (path, link)
        assert html.count('aria-current="page"') == 1, path
        assert f'data-page="{tab}"' in html, path
        # Everything inline: no static files to serve, no external script to wait for.
        assert "<script src" not in html and '<link rel="stylesheet"' not in html, path


def test_shell_answers_without_its_trailing_slash(client: httpx.Client) -> None:
    html = page(client, "/webapp")
    assert 'data-page="index"' in html


def test_shell_signs_in_through_telegram_and_loads_the_feed(client: httpx.Client) -> None:
    html = page(client, "/webapp/")
    assert '"api/auth"' in html and "X-Telegram-Init-Data" in html
    assert '"api/feed"' in html
    assert "user_id" in html and "localStorage" in html


def test_news_page_renders_the_latest_news(client: httpx.Client) -> None:
    html = page(client, "/webapp/news")
    titles = latest_titles(client, limit=20)
    assert len(titles) == 20
    positions = [html.index(title) for title in titles]
    assert positions == sorted(positions)  # newest first, as the API lists them
    assert titles[0] in html and "Load more" in html
    assert '"../api/news"' in html  # the next pages, by offset
    for name in CATEGORIES:
        assert f'href="news?category={name}"' in html


def test_news_page_filters_by_category(client: httpx.Client) -> None:
    html = page(client, "/webapp/news", category="sports")
    sports = latest_titles(client, category="sports", limit=20)
    assert all(title in html for title in sports)
    others = latest_titles(client, category="crypto", limit=5)
    assert not any(title in html for title in others)
    assert 'class="chip active" href="news?category=sports"' in html
    for sub in CATEGORY_TREE["sports"]:
        assert f'href="news?category={sub}"' in html  # the subcategories of the choice


def test_news_page_filters_by_subcategory(client: httpx.Client) -> None:
    html = page(client, "/webapp/news", category="bitcoin")
    bitcoin = latest_titles(client, category="bitcoin", limit=20)
    assert bitcoin and all(title in html for title in bitcoin)
    assert html.count('<article class="card news-item"') == len(bitcoin)
    assert 'class="chip small active" href="news?category=bitcoin"' in html
    assert 'class="chip active" href="news?category=crypto"' in html


def test_news_page_unknown_category_is_a_400_in_the_api_error_shape(
    client: httpx.Client,
) -> None:
    # Only a hand-edited URL gets here (the page links known names only), so the answer is
    # the one error shape of the API, as from /api/news/latest, not an HTML page.
    for category in ("cooking", ""):
        response = client.get("/webapp/news", params={"category": category})
        assert response.status_code == 400
        assert response.headers["content-type"] == "application/json"
        assert response.json() == {
            "error": {
                "code": "invalid_parameter",
                "message": "category must be a known category or subcategory",
                "field": "category",
            }
        }


def test_events_page_lists_upcoming_events_soonest_first(client: httpx.Client) -> None:
    html = page(client, "/webapp/events")
    soon, later = "AI Developer Conference keynote", "Clay-court tennis season opener"
    assert html.index(soon) < html.index("FOMC rate decision") < html.index(later)
    assert "EU leaders summit, day one" in html  # running now: not over yet
    assert "Bitcoin Core developer meetup" not in html  # 18 days ago
    assert "Weekly oil inventories report" not in html  # ended earlier today
    assert 'datetime="' in html and " UTC</time>" in html


def test_events_page_filters_by_category(client: httpx.Client) -> None:
    html = page(client, "/webapp/events", category="tech")
    assert "AI Developer Conference keynote" in html
    assert "FOMC rate decision" not in html
    assert 'class="chip active" href="events?category=tech"' in html


def test_events_page_takes_top_level_categories_only(client: httpx.Client) -> None:
    for category in ("bitcoin", "", "cooking"):
        response = client.get("/webapp/events", params={"category": category})
        assert response.status_code == 400, category
        assert response.json()["error"] == {
            "code": "invalid_parameter",
            "message": "category must be one of: crypto, sports, markets, tech, world",
            "field": "category",
        }


def test_digest_page_offers_every_option_and_generates_through_the_api(
    client: httpx.Client,
) -> None:
    html = page(client, "/webapp/digest")
    for name, values in DIGEST_OPTIONS.items():
        for value in values:
            checked = " checked" if value == DIGEST_DEFAULTS[name] else ""
            assert f'name="{name}" id="{name}-{value}" value="{value}"{checked}>' in html
    for name in CATEGORIES:
        assert f'name="categories" id="topic-{name}" value="{name}"' in html
    assert 'type="range" id="limit" name="limit" min="1" max="50" value="10"' in html
    assert '"../api/digest/generate"' in html


def test_subscriptions_page_has_a_switch_per_category(client: httpx.Client) -> None:
    html = page(client, "/webapp/subscriptions")
    for name in CATEGORIES:
        assert f'id="follow-{name}" data-category="{name}" role="switch"' in html
    assert '"../api/subscriptions"' in html and '"../api/subscriptions/update"' in html


def test_settings_page_edits_the_digest_preferences(client: httpx.Client) -> None:
    html = page(client, "/webapp/settings")
    for name, values in DIGEST_OPTIONS.items():
        assert f'<select id="pref-{name}" name="{name}"' in html
        assert all(f'<option value="{value}"' in html for value in values)
    assert 'name="notify_time"' in html and 'name="timezone"' in html
    assert '"../api/users/" + userId + "/preferences"' in html


# --- GET /webapp/api/feed -------------------------------------------------------------------


def test_feed_is_the_subscribed_categories_newest_first(client: httpx.Client) -> None:
    response = client.get("/webapp/api/feed", params={"user_id": 1, "limit": 100})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"items", "total", "limit", "offset"}
    assert (body["limit"], body["offset"]) == (100, 0)
    expected = sum(
        client.get("/api/news/latest", params={"category": name, "limit": 100}).json()["count"]
        for name in ALICE_CATEGORIES
    )
    assert body["total"] == expected == len(body["items"])
    assert {item["category"] for item in body["items"]} == ALICE_CATEGORIES
    keys = [(item["published_at"], item["id"]) for item in body["items"]]
    assert keys == sorted(keys, reverse=True)
    assert set(body["items"][0]) == {
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


def test_feed_pages_with_limit_and_offset(client: httpx.Client) -> None:
    first = client.get("/webapp/api/feed", params={"user_id": 1, "limit": 10}).json()
    second = client.get("/webapp/api/feed", params={"user_id": 1, "limit": 5, "offset": 5}).json()
    assert second["items"] == first["items"][5:]
    assert second["total"] == first["total"]
    past_end = client.get("/webapp/api/feed", params={"user_id": 1, "offset": 10_000}).json()
    assert past_end["items"] == [] and past_end["total"] == first["total"]
    assert len(client.get("/webapp/api/feed", params={"user_id": 1}).json()["items"]) == 20


def test_feed_follows_subscription_changes(client: httpx.Client) -> None:
    change = {"user_id": 3, "category": "sports", "action": "unsubscribe"}
    assert client.post("/api/subscriptions/update", json=change).status_code == 200
    empty = client.get("/webapp/api/feed", params={"user_id": 3}).json()
    assert empty == {"items": [], "total": 0, "limit": 20, "offset": 0}

    change.update(category="world", action="subscribe")
    assert client.post("/api/subscriptions/update", json=change).status_code == 200
    world = client.get("/webapp/api/feed", params={"user_id": 3}).json()
    assert world["total"] > 0
    assert {item["category"] for item in world["items"]} == {"world"}


FEED_BAD_REQUESTS = [
    ({}, 400, {"code": "invalid_parameter", "message": "user_id is required"}),
    ({"user_id": "me"}, 400, {"code": "invalid_parameter", "field": "user_id"}),
    ({"user_id": 0}, 400, {"code": "invalid_parameter", "field": "user_id"}),
    ({"user_id": 2**31}, 400, {"code": "invalid_parameter", "field": "user_id"}),
    ({"user_id": 1, "limit": 0}, 400, {"code": "invalid_parameter", "field": "limit"}),
    ({"user_id": 1, "limit": 101}, 400, {"code": "invalid_parameter", "field": "limit"}),
    ({"user_id": 1, "limit": "x"}, 400, {"code": "invalid_parameter", "field": "limit"}),
    ({"user_id": 1, "offset": -1}, 400, {"code": "invalid_parameter", "field": "offset"}),
    ({"user_id": 1, "offset": 2**63}, 400, {"code": "invalid_parameter", "field": "offset"}),
    ({"user_id": "me", "limit": 0}, 400, {"field": "user_id"}),  # the first problem only
    ({"user_id": 999}, 404, {"code": "not_found", "message": "user not found"}),
    ({"user_id": 999, "limit": 0}, 400, {"field": "limit"}),  # parameters before identity
    ({"user_id": 5}, 403, {"code": "forbidden", "message": "this user is blocked"}),
]


def test_feed_bad_requests(client: httpx.Client) -> None:
    for params, status, error in FEED_BAD_REQUESTS:
        response = client.get("/webapp/api/feed", params=params)
        assert response.status_code == status, params
        assert error.items() <= response.json()["error"].items(), params


def test_feed_offset_at_the_largest_integer_is_an_empty_page(client: httpx.Client) -> None:
    response = client.get("/webapp/api/feed", params={"user_id": 1, "offset": 2**63 - 1})
    assert response.status_code == 200
    assert response.json()["items"] == [] and response.json()["offset"] == 2**63 - 1


# --- POST /webapp/api/auth ------------------------------------------------------------------


def test_sign_in_without_a_bot_token_is_503(client: httpx.Client) -> None:
    response = client.post("/webapp/api/auth", json={"init_data": init_data(ALICE)})
    assert response.status_code == 503
    assert response.json() == {
        "error": {"code": "unavailable", "message": "Telegram login is not configured"}
    }


def test_sign_in_body_is_checked_before_anything_else(client: httpx.Client) -> None:
    for payload, message in [
        ({}, "init_data is required"),
        ({"init_data": 5}, "init_data must be a string"),
        ({"init_data": None}, "init_data must be a string"),
        ({"init_data": "x" * 4097}, "init_data must be at most 4096 characters"),
    ]:
        response = client.post("/webapp/api/auth", json=payload)
        assert response.status_code == 400, payload
        assert response.json()["error"] == {
            "code": "invalid_parameter",
            "message": message,
            "field": "init_data",
        }
    for content in (b"init_data=x", b"[1]", b""):
        response = client.post(
            "/webapp/api/auth", content=content, headers={"content-type": "application/json"}
        )
        assert response.status_code == 400, content
        assert response.json()["error"]["code"] == "invalid_json", content


def test_sign_in_returns_an_existing_user_and_creates_a_new_one(
    telegram_client: httpx.Client,
) -> None:
    response = telegram_client.post("/webapp/api/auth", json={"init_data": init_data(ALICE)})
    assert response.status_code == 200
    user = response.json()["user"]
    assert set(user) == {
        "id",
        "telegram_id",
        "username",
        "language",
        "is_blocked",
        "created_at",
        "last_seen_at",
    }
    assert (user["id"], user["telegram_id"], user["username"]) == (1, ALICE["id"], "alice")
    assert user["is_blocked"] is False and user["last_seen_at"].endswith("Z")

    first = telegram_client.post("/webapp/api/auth", json={"init_data": init_data(NEWCOMER)})
    again = telegram_client.post("/webapp/api/auth", json={"init_data": init_data(NEWCOMER)})
    assert first.status_code == again.status_code == 200
    created = first.json()["user"]
    assert created["id"] == again.json()["user"]["id"] > 5
    assert (created["telegram_id"], created["username"], created["language"]) == (
        NEWCOMER["id"],
        "newcomer",
        "pt-br",
    )
    # Signed in, the newcomer is a registered user whose initData works everywhere.
    headers = {"X-Telegram-Init-Data": init_data(NEWCOMER)}
    feed = telegram_client.get("/webapp/api/feed", headers=headers)
    assert feed.status_code == 200 and feed.json()["total"] == 0

    # Whatever Telegram signs is stored within the users columns, never a 500.
    wordy = {"id": 700000002, "username": "u" * 150, "language_code": "x" * 40}
    response = telegram_client.post("/webapp/api/auth", json={"init_data": init_data(wordy)})
    assert response.status_code == 200
    assert response.json()["user"]["username"] == "u" * 100
    assert response.json()["user"]["language"] == "x" * 10


def test_sign_in_refuses_forged_stale_or_blocked_init_data(
    telegram_client: httpx.Client,
) -> None:
    forged = sign_init_data(ALICE, bot_token="999:other")
    stale = init_data(ALICE, auth_date=int(time.time()) - 25 * 3600)
    tampered = init_data(ALICE).replace("alice", "mallory")
    huge_id = init_data({"id": 2**63, "username": "huge"})
    for bad in (forged, stale, tampered, huge_id, "user=%7B%22id%22%3A1%7D", ""):
        response = telegram_client.post("/webapp/api/auth", json={"init_data": bad})
        assert response.status_code == 401, bad
        assert response.json()["error"]["code"] == "unauthorized"
        assert response.json()["error"]["message"].startswith("invalid Telegram init data: ")

    response = telegram_client.post("/webapp/api/auth", json={"init_data": init_data(ERIN)})
    assert response.status_code == 403
    assert response.json()["error"] == {"code": "forbidden", "message": "this user is blocked"}


def test_feed_with_a_bot_token_acts_as_the_telegram_user(
    telegram_client: httpx.Client,
) -> None:
    headers = {"X-Telegram-Init-Data": init_data(ALICE)}
    mine = telegram_client.get("/webapp/api/feed", headers=headers)
    assert mine.status_code == 200
    assert {item["category"] for item in mine.json()["items"]} <= ALICE_CATEGORIES
    assert telegram_client.get("/webapp/api/feed", params={"user_id": 1}).status_code == 401
    other = telegram_client.get("/webapp/api/feed", params={"user_id": 2}, headers=headers)
    assert other.status_code == 403
    assert (
        telegram_client.get("/webapp/api/feed", params={"user_id": 1}, headers=headers).json()
        == mine.json()
    )
    stranger = {"X-Telegram-Init-Data": init_data(NEWCOMER)}  # never signed in
    response = telegram_client.get("/webapp/api/feed", headers=stranger)
    assert response.status_code == 403
    assert response.json()["error"]["message"] == "this Telegram user is not registered"
    blocked = {"X-Telegram-Init-Data": init_data(ERIN)}
    assert telegram_client.get("/webapp/api/feed", headers=blocked).status_code == 403


def test_openapi_documents_pages_as_html_and_their_errors_as_json(client: httpx.Client) -> None:
    schema = client.get("/openapi.json").json()
    paths = schema["paths"]
    assert "ErrorResponse" in schema["components"]["schemas"]  # what the pages' errors name
    for path in PAGES:
        responses = paths[path]["get"]["responses"]
        assert list(responses["200"]["content"]) == ["text/html"], path
    for path in ("/webapp/news", "/webapp/events"):
        error = paths[path]["get"]["responses"]["400"]["content"]
        assert error == {
            "application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}
        }
    assert "application/json" in paths["/webapp/api/feed"]["get"]["responses"]["200"]["content"]
