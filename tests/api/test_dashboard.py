"""GET /api/dashboard/*: figures over the demo data, counted in SQL, the same from both halves.

Expected values are derived from the demo rows themselves (same anchor as the fixture) and
the wall clock, as the endpoints derive "today" and "the last N days" from it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from shared.categories import CATEGORIES
from shared.database.demo import demo_rows
from shared.database.engine import Database
from shared.database.migrate import wipe
from shared.database.rows import utcnow
from tests.conftest import ANCHOR, WEBHOOK_SECRET
from tests.support.gateway_server import GatewayServer

DEMO = demo_rows(ANCHOR)


def midnight(now: datetime) -> datetime:
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def news_between(start: datetime, end: datetime | None = None) -> list[dict[str, Any]]:
    return [
        row
        for row in DEMO["news"]
        if row["published_at"] >= start and (end is None or row["published_at"] < end)
    ]


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    return response.json()


def test_news_today_counts_news_published_since_midnight_utc(client: httpx.Client) -> None:
    today = midnight(utcnow())
    expected = len(news_between(today, today + timedelta(days=1)))
    assert expected > 0
    assert ok(client.get("/api/dashboard/news/today")) == {"count": expected}


def test_news_week_is_today_and_six_days_before_oldest_first(client: httpx.Client) -> None:
    today = midnight(utcnow())
    days = ok(client.get("/api/dashboard/news/week"))["days"]
    expected = []
    for back in range(6, -1, -1):
        start = today - timedelta(days=back)
        count = len(news_between(start, start + timedelta(days=1)))
        expected.append({"date": start.date().isoformat(), "count": count})
    assert days == expected


def test_news_by_category_lists_every_category_over_the_last_7_days(
    client: httpx.Client,
) -> None:
    recent = news_between(utcnow() - timedelta(days=7))
    expected = {name: sum(1 for n in recent if n["category"] == name) for name in CATEGORIES}
    body = ok(client.get("/api/dashboard/news/by-category"))
    assert body == {"categories": expected}
    assert list(body["categories"]) == list(CATEGORIES)


def test_news_by_category_days_widens_the_window(client: httpx.Client) -> None:
    one_day = ok(client.get("/api/dashboard/news/by-category", params={"days": 1}))
    everything = ok(client.get("/api/dashboard/news/by-category", params={"days": 90}))
    recent = news_between(utcnow() - timedelta(days=1))
    assert sum(one_day["categories"].values()) == len(recent)
    assert sum(everything["categories"].values()) == len(DEMO["news"])


def test_news_by_source_lists_every_source_busiest_first(client: httpx.Client) -> None:
    recent = news_between(utcnow() - timedelta(days=7))
    counts = [
        (sum(1 for n in recent if n["source_id"] == source["id"]), source["id"], source["name"])
        for source in DEMO["sources"]
    ]
    counts.sort(key=lambda item: (-item[0], item[1]))
    body = ok(client.get("/api/dashboard/news/by-source"))
    assert list(body["sources"].items()) == [(name, count) for count, _, name in counts]
    assert body["sources"]["The Verge Demo"] == 0  # a source without news is still listed


def test_news_by_source_days_widens_the_window(client: httpx.Client) -> None:
    body = ok(client.get("/api/dashboard/news/by-source", params={"days": 90}))
    assert sum(body["sources"].values()) == len(DEMO["news"])


@pytest.mark.parametrize(
    "path", ["/api/dashboard/news/by-category", "/api/dashboard/news/by-source"]
)
@pytest.mark.parametrize(
    ("days", "message"),
    [
        ("0", "days must be greater than or equal to 1"),
        ("91", "days must be less than or equal to 90"),
        ("week", "days must be an integer"),
        ("2.5", "days must be an integer"),
    ],
)
def test_days_out_of_range_or_not_a_number_is_400(
    client: httpx.Client, path: str, days: str, message: str
) -> None:
    response = client.get(path, params={"days": days})
    assert response.status_code == 400
    assert response.json() == {
        "error": {"code": "invalid_parameter", "message": message, "field": "days"}
    }


def test_events_upcoming_counts_the_next_seven_days(client: httpx.Client) -> None:
    now = utcnow()
    expected = sum(1 for e in DEMO["events"] if now <= e["starts_at"] < now + timedelta(days=7))
    assert expected > 0
    assert ok(client.get("/api/dashboard/events/upcoming")) == {"count": expected}


def test_users_counts_new_active_and_blocked(client: httpx.Client) -> None:
    now = utcnow()
    users = DEMO["users"]
    week_ago = now - timedelta(days=7)
    assert ok(client.get("/api/dashboard/users")) == {
        "total": len(users),
        "new_today": sum(1 for u in users if u["created_at"] >= midnight(now)),
        "active_7d": sum(1 for u in users if u["last_seen_at"] and u["last_seen_at"] >= week_ago),
        "blocked": sum(1 for u in users if u["is_blocked"]),
    }


def test_a_new_user_is_counted_as_new_today_and_active(client: httpx.Client) -> None:
    before = ok(client.get("/api/dashboard/users"))
    response = client.post(
        "/api/telegram/webhook",
        json={"telegram_id": 300000001, "username": "newcomer"},
        headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET},
    )
    assert response.status_code == 200
    after = ok(client.get("/api/dashboard/users"))
    assert after == {
        "total": before["total"] + 1,
        "new_today": before["new_today"] + 1,
        "active_7d": before["active_7d"] + 1,
        "blocked": before["blocked"],
    }


def test_subscriptions_total_and_every_category(client: httpx.Client) -> None:
    by_category = dict.fromkeys(CATEGORIES, 0)
    for row in DEMO["subscriptions"]:
        by_category[row["category"]] += 1
    assert ok(client.get("/api/dashboard/subscriptions")) == {
        "total": len(DEMO["subscriptions"]),
        "by_category": by_category,
    }


def test_a_new_subscription_is_counted(client: httpx.Client) -> None:
    before = ok(client.get("/api/dashboard/subscriptions"))
    response = client.post(
        "/api/subscriptions/update", json={"user_id": 3, "category": "tech", "action": "subscribe"}
    )
    assert response.status_code == 200
    after = ok(client.get("/api/dashboard/subscriptions"))
    assert after["total"] == before["total"] + 1
    assert after["by_category"] == {
        **before["by_category"],
        "tech": before["by_category"]["tech"] + 1,
    }


def test_digests_total_today_and_average_duration(client: httpx.Client) -> None:
    rows = DEMO["digests"]
    today = midnight(utcnow())
    durations = [row["duration_ms"] for row in rows]
    assert ok(client.get("/api/dashboard/digests")) == {
        "total": len(rows),
        "today": sum(1 for row in rows if row["created_at"] >= today),
        "avg_duration_ms": round(sum(durations) / len(durations), 1),
    }


def test_a_generated_digest_is_counted_today(client: httpx.Client) -> None:
    before = ok(client.get("/api/dashboard/digests"))
    assert client.post("/api/digest/generate", json={"limit": 2}).status_code == 200
    after = ok(client.get("/api/dashboard/digests"))
    assert after["total"] == before["total"] + 1
    assert after["today"] == before["today"] + 1
    assert isinstance(after["avg_duration_ms"], float)


def test_activity_is_newest_first_in_the_list_shape(client: httpx.Client) -> None:
    body = ok(client.get("/api/dashboard/activity", params={"limit": 5}))
    events = DEMO["analytics_events"]
    newest = sorted(events, key=lambda e: (e["created_at"], e["id"]), reverse=True)[:5]
    assert body["total"] == len(events)
    assert (body["limit"], body["offset"]) == (5, 0)
    assert [item["id"] for item in body["items"]] == [e["id"] for e in newest]
    first = body["items"][0]
    assert set(first) == {"id", "name", "user_id", "props", "created_at"}
    assert first["props"] == newest[0]["props"]
    assert first["created_at"] == newest[0]["created_at"].strftime("%Y-%m-%dT%H:%M:%SZ")


def test_activity_pages_follow_on(client: httpx.Client) -> None:
    both = ok(client.get("/api/dashboard/activity", params={"limit": 6}))["items"]
    first = ok(client.get("/api/dashboard/activity", params={"limit": 3}))["items"]
    second = ok(client.get("/api/dashboard/activity", params={"limit": 3, "offset": 3}))["items"]
    assert first + second == both
    default = ok(client.get("/api/dashboard/activity"))
    assert (len(default["items"]), default["limit"]) == (20, 20)
    beyond = ok(client.get("/api/dashboard/activity", params={"offset": 1000}))
    assert beyond["items"] == [] and beyond["total"] == len(DEMO["analytics_events"])


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"limit": 0}, "limit", "limit must be greater than or equal to 1"),
        ({"limit": 101}, "limit", "limit must be less than or equal to 100"),
        ({"limit": "many"}, "limit", "limit must be an integer"),
        ({"offset": -1}, "offset", "offset must be greater than or equal to 0"),
    ],
)
def test_bad_activity_paging_is_400(
    client: httpx.Client, params: dict, field: str, message: str
) -> None:
    response = client.get("/api/dashboard/activity", params=params)
    assert response.status_code == 400
    assert response.json() == {
        "error": {"code": "invalid_parameter", "message": message, "field": field}
    }


def test_summary_holds_every_endpoint_answer_under_its_name(client: httpx.Client) -> None:
    summary = ok(client.get("/api/dashboard/summary"))
    endpoints = {
        "news_today": "/api/dashboard/news/today",
        "news_week": "/api/dashboard/news/week",
        "news_by_category": "/api/dashboard/news/by-category",
        "news_by_source": "/api/dashboard/news/by-source",
        "events_upcoming": "/api/dashboard/events/upcoming",
        "users": "/api/dashboard/users",
        "subscriptions": "/api/dashboard/subscriptions",
        "digests": "/api/dashboard/digests",
        "activity": "/api/dashboard/activity",
    }
    assert list(summary) == list(endpoints)
    for key, path in endpoints.items():
        assert summary[key] == ok(client.get(path)), key


def test_dashboards_need_no_admin_token(client: httpx.Client) -> None:
    response = client.get("/api/dashboard/summary", headers={"Authorization": "Bearer wrong"})
    assert response.status_code == 200


SUMMARY_ENDPOINTS = {
    "news_today": "/api/dashboard/news/today",
    "news_week": "/api/dashboard/news/week",
    "news_by_category": "/api/dashboard/news/by-category",
    "news_by_source": "/api/dashboard/news/by-source",
    "events_upcoming": "/api/dashboard/events/upcoming",
    "users": "/api/dashboard/users",
    "subscriptions": "/api/dashboard/subscriptions",
    "digests": "/api/dashboard/digests",
    "activity": "/api/dashboard/activity",
}


def test_summary_of_an_empty_database_is_every_figure_at_zero(
    gateway: GatewayServer, client: httpx.Client
) -> None:
    async def empty() -> None:
        db = Database(gateway.settings.database_url)
        await db.connect()
        try:
            await wipe(db)
        finally:
            await db.close()

    gateway.run(empty())  # the next test's `client` loads the demo data again

    summary = ok(client.get("/api/dashboard/summary"))

    today = midnight(utcnow())
    week = [(today - timedelta(days=back)).date().isoformat() for back in range(6, -1, -1)]
    assert summary == {
        "news_today": {"count": 0},
        "news_week": {"days": [{"date": day, "count": 0} for day in week]},
        "news_by_category": {"categories": dict.fromkeys(CATEGORIES, 0)},
        "news_by_source": {"sources": {}},
        "events_upcoming": {"count": 0},
        "users": {"total": 0, "new_today": 0, "active_7d": 0, "blocked": 0},
        "subscriptions": {"total": 0, "by_category": dict.fromkeys(CATEGORIES, 0)},
        "digests": {"total": 0, "today": 0, "avg_duration_ms": None},
        "activity": {"items": [], "total": 0, "limit": 20, "offset": 0},
    }
    for key, path in SUMMARY_ENDPOINTS.items():
        assert summary[key] == ok(client.get(path)), key


def test_summary_counts_what_was_just_written_in_every_figure_it_holds(
    client: httpx.Client,
) -> None:
    before = ok(client.get("/api/dashboard/summary"))
    joined = client.post(
        "/api/telegram/webhook",
        json={"telegram_id": 300000002, "username": "counted"},
        headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET},
    )
    subscribed = client.post(
        "/api/subscriptions/update", json={"user_id": 3, "category": "tech", "action": "subscribe"}
    )
    generated = client.post("/api/digest/generate", json={"limit": 2})
    assert [joined.status_code, subscribed.status_code, generated.status_code] == [200] * 3

    after = ok(client.get("/api/dashboard/summary"))

    assert after["users"]["total"] == before["users"]["total"] + 1
    assert after["users"]["new_today"] == before["users"]["new_today"] + 1
    assert after["subscriptions"]["total"] == before["subscriptions"]["total"] + 1
    assert after["subscriptions"]["by_category"]["tech"] == (
        before["subscriptions"]["by_category"]["tech"] + 1
    )
    assert after["digests"]["total"] == before["digests"]["total"] + 1
    assert after["digests"]["today"] == before["digests"]["today"] + 1
    for key, path in SUMMARY_ENDPOINTS.items():
        assert after[key] == ok(client.get(path)), key
