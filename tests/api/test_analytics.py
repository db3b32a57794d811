"""/api/analytics: tracking, the admin event list, popular categories, activity, funnels.

Expected figures are derived from the demo rows (same anchor as the fixture) and the wall
clock, as the endpoints derive "the last N days" from it.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import httpx
import pytest

from shared.categories import CATEGORIES, SUBCATEGORIES
from shared.database.demo import demo_rows
from shared.database.rows import iso, utcnow
from shared.database.schema import analytics_events
from shared.telegram_auth import sign_init_data
from tests.conftest import ADMIN_TOKEN, ANCHOR
from tests.support.gateway_server import GatewayServer

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
BOT_TOKEN = "123456:test-bot-token"
DEMO = demo_rows(ANCHOR)
EVENTS = DEMO["analytics_events"]
ALICE, BOB, BLOCKED = 1, 2, 5


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    return response.json()


def error(response: httpx.Response, status: int) -> dict[str, Any]:
    return ok(response, status)["error"]


def init_data_for(user_id: int) -> dict[str, str]:
    telegram_id = DEMO["users"][user_id - 1]["telegram_id"]
    return {"X-Telegram-Init-Data": sign_init_data({"id": telegram_id}, bot_token=BOT_TOKEN)}


def newest_first(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda row: (row["created_at"], row["id"]), reverse=True)


def as_item(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["name"],
        "user_id": row["user_id"],
        "props": row["props"],
        "created_at": iso(row["created_at"]),
    }


def expected_funnel(steps: list[str], days: int) -> list[int]:
    since = utcnow() - timedelta(days=days)
    by_user: dict[int, list[dict[str, Any]]] = {}
    for row in EVENTS:
        if row["user_id"] is not None and row["created_at"] >= since:
            by_user.setdefault(row["user_id"], []).append(row)
    reached = [0] * len(steps)
    for rows in by_user.values():
        at = None
        for k, step in enumerate(steps):
            times = [
                r["created_at"]
                for r in rows
                if r["name"] == step and (at is None or r["created_at"] >= at)
            ]
            if not times:
                break
            at = min(times)
            reached[k] += 1
    return reached


# --- POST /api/analytics/track -----------------------------------------------------------


def test_track_is_accepted_and_recorded(client: httpx.Client) -> None:
    response = client.post(
        "/api/analytics/track",
        json={"event": "digest.share", "user_id": ALICE, "props": {"channel": "telegram"}},
    )
    assert ok(response, 202) == {"accepted": True}
    latest = ok(client.get("/api/analytics/events", params={"limit": 1}, headers=ADMIN))
    assert latest["total"] == len(EVENTS) + 1
    item = latest["items"][0]
    assert item["id"] == len(EVENTS) + 1
    assert (item["name"], item["user_id"], item["props"]) == (
        "digest.share",
        ALICE,
        {"channel": "telegram"},
    )
    assert item["created_at"].endswith("Z")


def test_track_without_user_or_props_is_anonymous_with_empty_props(client: httpx.Client) -> None:
    for body in ({"event": "app_open"}, {"event": "app_open", "user_id": None, "props": None}):
        assert ok(client.post("/api/analytics/track", json=body), 202) == {"accepted": True}
    items = ok(client.get("/api/analytics/events", params={"limit": 2}, headers=ADMIN))["items"]
    assert [(item["user_id"], item["props"]) for item in items] == [(None, {}), (None, {})]


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({}, "event", "event is required"),
        (
            {"event": "App_Open"},
            "event",
            "event must be 1 to 64 characters of a-z, 0-9, '_' and '.'",
        ),
        ({"event": ""}, "event", "event must be 1 to 64 characters of a-z, 0-9, '_' and '.'"),
        ({"event": "a" * 65}, "event", "event must be 1 to 64 characters of a-z, 0-9, '_' and '.'"),
        (
            {"event": "news-view"},
            "event",
            "event must be 1 to 64 characters of a-z, 0-9, '_' and '.'",
        ),
        ({"event": 5}, "event", "event must be a string"),
        ({"event": "x", "user_id": "1"}, "user_id", "user_id must be an integer"),
        ({"event": "x", "user_id": 0}, "user_id", "user_id must be greater than or equal to 1"),
        (
            {"event": "x", "user_id": 2**31},
            "user_id",
            "user_id must be less than or equal to 2147483647",
        ),
        ({"event": "x", "props": [1]}, "props", "props must be an object"),
        ({"event": "x", "props": "a"}, "props", "props must be an object"),
        (
            {"event": "x", "props": {"text": "x" * 4096}},
            "props",
            "props must be at most 4096 bytes as JSON",
        ),
    ],
)
def test_bad_track_bodies_are_400_naming_the_field(
    client: httpx.Client, body: dict[str, Any], field: str, message: str
) -> None:
    assert error(client.post("/api/analytics/track", json=body), 400) == {
        "code": "invalid_parameter",
        "message": message,
        "field": field,
    }


def test_deeply_nested_props_are_400(client: httpx.Client) -> None:
    content = '{"event": "x", "props": {"a": ' + "[" * 16 + "]" * 16 + "}}"
    response = client.post(
        "/api/analytics/track", content=content, headers={"Content-Type": "application/json"}
    )
    assert error(response, 400)["message"] == "props must be nested at most 16 levels deep"


def test_track_for_an_unknown_user_is_404_and_records_nothing(client: httpx.Client) -> None:
    response = client.post("/api/analytics/track", json={"event": "x", "user_id": 999})
    assert error(response, 404) == {"code": "not_found", "message": "user not found"}
    response = client.post("/api/analytics/track", json={"event": "x", "user_id": BLOCKED})
    assert error(response, 403) == {"code": "forbidden", "message": "this user is blocked"}
    total = ok(client.get("/api/analytics/events", headers=ADMIN))["total"]
    assert total == len(EVENTS)


def test_track_follows_identity_rules_with_a_bot_token(start_gateway: Any) -> None:
    _, http = start_gateway(telegram_bot_token=BOT_TOKEN)
    track = "/api/analytics/track"
    # Anonymous events need no proof of anything.
    assert ok(http.post(track, json={"event": "app_open"}), 202) == {"accepted": True}
    # A user_id must be proven, and must be the caller's own.
    assert error(http.post(track, json={"event": "x", "user_id": ALICE}), 401)["code"] == (
        "unauthorized"
    )
    response = http.post(track, json={"event": "x", "user_id": BOB}, headers=init_data_for(ALICE))
    assert error(response, 403) == {"code": "forbidden", "message": "user_id names another user"}
    # initData alone attributes the event to its user.
    response = http.post(track, json={"event": "mine"}, headers=init_data_for(BOB))
    assert ok(response, 202) == {"accepted": True}
    items = ok(http.get("/api/analytics/events", params={"limit": 2}, headers=ADMIN))["items"]
    assert [(item["name"], item["user_id"]) for item in items] == [
        ("mine", BOB),
        ("app_open", None),
    ]


# --- GET /api/analytics/events -----------------------------------------------------------


def test_events_are_listed_newest_first_with_the_list_shape(client: httpx.Client) -> None:
    body = ok(client.get("/api/analytics/events", params={"limit": 5, "offset": 2}, headers=ADMIN))
    expected = [as_item(row) for row in newest_first(EVENTS)[2:7]]
    assert body == {"items": expected, "total": len(EVENTS), "limit": 5, "offset": 2}


def test_events_default_page_is_20(client: httpx.Client) -> None:
    body = ok(client.get("/api/analytics/events", headers=ADMIN))
    assert (len(body["items"]), body["limit"], body["offset"]) == (20, 20, 0)


def test_events_filter_by_name_since_and_user(client: httpx.Client) -> None:
    since = ANCHOR - timedelta(hours=100)
    params = {"name": "news_view", "since": iso(since), "user_id": ALICE, "limit": 100}
    body = ok(client.get("/api/analytics/events", params=params, headers=ADMIN))
    wanted = [
        row
        for row in EVENTS
        if row["name"] == "news_view" and row["created_at"] >= since and row["user_id"] == ALICE
    ]
    assert wanted
    assert body["items"] == [as_item(row) for row in newest_first(wanted)]
    assert body["total"] == len(wanted)


def test_events_since_accepts_an_offset_and_converts_it_to_utc(client: httpx.Client) -> None:
    since = ANCHOR - timedelta(hours=24)
    local = (since + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S+02:00")
    body = ok(client.get("/api/analytics/events", params={"since": local}, headers=ADMIN))
    assert body["total"] == sum(1 for row in EVENTS if row["created_at"] >= since)


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"limit": 0}, "limit", "limit must be greater than or equal to 1"),
        ({"limit": 101}, "limit", "limit must be less than or equal to 100"),
        ({"offset": -1}, "offset", "offset must be greater than or equal to 0"),
        ({"since": "yesterday"}, "since", "since must be an ISO-8601 timestamp"),
        ({"name": "News View"}, "name", "name must be 1 to 64 characters of a-z, 0-9, '_' and '.'"),
        ({"user_id": "x"}, "user_id", "user_id must be an integer"),
    ],
)
def test_bad_event_filters_are_400(
    client: httpx.Client, params: dict[str, Any], field: str, message: str
) -> None:
    response = client.get("/api/analytics/events", params=params, headers=ADMIN)
    assert error(response, 400) == {"code": "invalid_parameter", "message": message, "field": field}


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "an admin bearer token is required"),
        ({"Authorization": "Bearer nope"}, "the admin token is wrong"),
    ],
)
def test_events_need_the_admin_token_before_anything_else(
    client: httpx.Client, headers: dict[str, str], message: str
) -> None:
    response = client.get("/api/analytics/events", params={"limit": 0}, headers=headers)
    assert error(response, 401) == {"code": "unauthorized", "message": message}


def test_events_are_503_without_an_admin_token_configured(start_gateway: Any) -> None:
    _, http = start_gateway(admin_token=None)
    response = http.get("/api/analytics/events", headers=ADMIN)
    assert error(response, 503)["code"] == "unavailable"


# --- GET /api/analytics/popular-categories -----------------------------------------------


def expected_popularity(days: int) -> list[dict[str, Any]]:
    since = utcnow() - timedelta(days=days)
    category_of = {row["id"]: row["category"] for row in DEMO["news"]}
    subscribed = Counter(
        row["category"] for row in DEMO["subscriptions"] if row["created_at"] >= since
    )
    bookmarked = Counter(
        category_of[row["news_id"]] for row in DEMO["bookmarks"] if row["created_at"] >= since
    )
    viewed = Counter(
        category_of[row["props"]["news_id"]]
        for row in EVENTS
        if row["name"] == "news_view" and row["created_at"] >= since
    )
    items = [
        {
            "name": name,
            "subscriptions": subscribed[name],
            "bookmarks": bookmarked[name],
            "views": viewed[name],
            "score": 3 * subscribed[name] + 2 * bookmarked[name] + viewed[name],
        }
        for name in CATEGORIES
    ]
    return sorted(items, key=lambda item: (-item["score"], item["name"]))


@pytest.mark.parametrize("days", [None, 1, 30, 90])
def test_popular_categories_weigh_subscriptions_bookmarks_and_views(
    client: httpx.Client, days: int | None
) -> None:
    params = {} if days is None else {"days": days}
    body = ok(client.get("/api/analytics/popular-categories", params=params))
    assert body == {"categories": expected_popularity(days or 7), "days": days or 7}


def test_views_count_for_the_news_item_else_the_props_category(client: httpx.Client) -> None:
    before = {
        item["name"]: item["views"]
        for item in ok(client.get("/api/analytics/popular-categories"))["categories"]
    }
    tech_news = next(row["id"] for row in DEMO["news"] if row["category"] == "tech")
    sport = next(sub for sub, category in SUBCATEGORIES.items() if category == "sports")
    views = [
        {"news_id": tech_news, "category": "world"},  # the news item wins
        {"category": sport},  # a subcategory counts for its category
        {"category": "markets"},
        {"news_id": 10**12},  # names no news: ignored
        {"news_id": "abc", "category": "cooking"},  # junk is ignored, never a failure
        {"news_id": 1.5},
        {},
    ]
    for props in views:
        response = client.post("/api/analytics/track", json={"event": "news_view", "props": props})
        assert response.status_code == 202
    after = {
        item["name"]: item["views"]
        for item in ok(client.get("/api/analytics/popular-categories"))["categories"]
    }
    assert {name: after[name] - before[name] for name in CATEGORIES} == {
        "crypto": 0,
        "sports": 1,
        "markets": 1,
        "tech": 1,
        "world": 0,
    }


@pytest.mark.parametrize(
    ("days", "message"),
    [
        (0, "days must be greater than or equal to 1"),
        (91, "days must be less than or equal to 90"),
        ("week", "days must be an integer"),
    ],
)
def test_popular_categories_days_out_of_range_is_400(
    client: httpx.Client, days: Any, message: str
) -> None:
    response = client.get("/api/analytics/popular-categories", params={"days": days})
    assert error(response, 400) == {
        "code": "invalid_parameter",
        "message": message,
        "field": "days",
    }


# --- GET /api/analytics/users/<id>/activity ----------------------------------------------


def test_activity_is_that_users_events_newest_first(client: httpx.Client) -> None:
    body = ok(client.get(f"/api/analytics/users/{BOB}/activity", params={"limit": 3}))
    bobs = newest_first([row for row in EVENTS if row["user_id"] == BOB])
    assert body == {
        "items": [as_item(row) for row in bobs[:3]],
        "total": len(bobs),
        "limit": 3,
        "offset": 0,
    }


def test_activity_past_the_last_event_is_an_empty_page(client: httpx.Client) -> None:
    body = ok(client.get("/api/analytics/users/3/activity", params={"offset": 1000}))
    assert body["items"] == []
    assert body["total"] == sum(1 for row in EVENTS if row["user_id"] == 3)


@pytest.mark.parametrize(
    ("user_id", "status", "expected"),
    [
        (999, 404, {"code": "not_found", "message": "user not found"}),
        (BLOCKED, 403, {"code": "forbidden", "message": "this user is blocked"}),
        (
            0,
            400,
            {
                "code": "invalid_parameter",
                "message": "user_id must be greater than or equal to 1",
                "field": "user_id",
            },
        ),
        (
            2**31,
            400,
            {
                "code": "invalid_parameter",
                "message": "user_id must be less than or equal to 2147483647",
                "field": "user_id",
            },
        ),
    ],
)
def test_activity_of_unknown_blocked_or_impossible_users(
    client: httpx.Client, user_id: int, status: int, expected: dict[str, Any]
) -> None:
    assert error(client.get(f"/api/analytics/users/{user_id}/activity"), status) == expected


def test_activity_path_must_be_a_number(client: httpx.Client) -> None:
    assert error(client.get("/api/analytics/users/alice/activity"), 404)["code"] == "not_found"


def test_activity_limit_is_validated_before_the_user(client: httpx.Client) -> None:
    response = client.get("/api/analytics/users/999/activity", params={"limit": 500})
    assert error(response, 400)["field"] == "limit"


def test_activity_with_a_bot_token_is_only_your_own(start_gateway: Any) -> None:
    _, http = start_gateway(telegram_bot_token=BOT_TOKEN)
    path = f"/api/analytics/users/{ALICE}/activity"
    assert error(http.get(path), 401)["code"] == "unauthorized"
    assert error(http.get(path, headers=init_data_for(BOB)), 403) == {
        "code": "forbidden",
        "message": "user_id names another user",
    }
    body = ok(http.get(path, headers=init_data_for(ALICE)))
    assert body["total"] == sum(1 for row in EVENTS if row["user_id"] == ALICE)


# --- GET /api/analytics/funnel -----------------------------------------------------------


@pytest.mark.parametrize(
    ("steps", "days"),
    [
        ("app_open,news_view,digest_generate", None),
        ("app_open,subscribe,news_view,digest_generate", 14),
        ("news_view,bookmark_add,digest_generate", 30),
        ("digest_generate,app_open", 14),
        ("app_open,news_view,digest_generate,share,bookmark_add,subscribe", 90),
        ("app_open,never_happens", 7),
    ],
)
def test_funnel_counts_users_reaching_each_step_in_order(
    client: httpx.Client, steps: str, days: int | None
) -> None:
    params = {"steps": steps} if days is None else {"steps": steps, "days": days}
    body = ok(client.get("/api/analytics/funnel", params=params))
    names = steps.split(",")
    counts = expected_funnel(names, days or 7)
    assert body == {
        "steps": [{"name": name, "users": n} for name, n in zip(names, counts, strict=True)],
        "days": days or 7,
    }
    assert counts == sorted(counts, reverse=True)


def test_funnel_order_matters(client: httpx.Client) -> None:
    forward = ok(client.get("/api/analytics/funnel", params={"steps": "app_open,share"}))
    backward = ok(client.get("/api/analytics/funnel", params={"steps": "share,app_open"}))
    assert forward["steps"][1]["users"] > 0
    assert forward["steps"][1]["users"] == expected_funnel(["app_open", "share"], 7)[1]
    assert backward["steps"][1]["users"] == expected_funnel(["share", "app_open"], 7)[1]


def test_funnel_steps_may_share_a_timestamp(client: httpx.Client, gateway: GatewayServer) -> None:
    # Non-decreasing, not increasing: step 2 at the very instant of step 1 counts.
    at = utcnow()
    rows = [
        {"name": name, "user_id": 4, "props": {}, "created_at": at}
        for name in ("zz.second", "zz.first")  # ids in the "wrong" order on purpose
    ]
    db = gateway.gateway.bridge.resource.db
    gateway.run(db.execute(analytics_events.insert(), rows))
    body = ok(client.get("/api/analytics/funnel", params={"steps": "zz.first,zz.second"}))
    assert [step["users"] for step in body["steps"]] == [1, 1]


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({}, "steps", "steps is required"),
        ({"steps": "app_open"}, "steps", "steps must list 2 to 6 comma-separated event names"),
        ({"steps": "a,b,c,d,e,f,g"}, "steps", "steps must list 2 to 6 comma-separated event names"),
        (
            {"steps": "app_open,,share"},
            "steps",
            "steps must be event names of 1 to 64 characters of a-z, 0-9, '_' and '.', "
            "separated by commas",
        ),
        (
            {"steps": "app_open, share"},
            "steps",
            "steps must be event names of 1 to 64 characters of a-z, 0-9, '_' and '.', "
            "separated by commas",
        ),
        ({"steps": "app_open,share,app_open"}, "steps", "steps must not repeat an event name"),
        ({"steps": "app_open,share", "days": 0}, "days", "days must be greater than or equal to 1"),
        ({"steps": "app_open,share", "days": 91}, "days", "days must be less than or equal to 90"),
    ],
)
def test_bad_funnel_parameters_are_400(
    client: httpx.Client, params: dict[str, Any], field: str, message: str
) -> None:
    response = client.get("/api/analytics/funnel", params=params)
    assert error(response, 400) == {"code": "invalid_parameter", "message": message, "field": field}
