"""/api/events: the calendar reads, the admin writes (audited) and their errors.

The demo events sit around ANCHOR (the current hour), so "upcoming", "today" and the
category counts are checked against the real clock read just before and after each
request: an event that starts inside that window may land on either side.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from shared.categories import CATEGORIES
from shared.database.demo import demo_rows
from shared.database.rows import iso, utcnow
from shared.database.schema import audit_log, events
from tests.conftest import ADMIN_TOKEN, ANCHOR, http_client
from tests.support.gateway_server import GatewayServer

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
ITEM_KEYS = [
    "id",
    "title",
    "description",
    "category",
    "location",
    "starts_at",
    "ends_at",
    "importance",
]
DEMO = demo_rows(ANCHOR)["events"]
NEW_EVENT = {
    "title": "Bitcoin halving watch party",
    "category": "crypto",
    "starts_at": "2030-06-15T23:59:59Z",
    "ends_at": "2030-06-16T02:00:00Z",
    "location": "Lisbon",
    "description": "Counting down the blocks.",
    "importance": 0.9,
}


@pytest.fixture
def checks(gateway: GatewayServer, half: str) -> Iterator[httpx.Client]:
    """A client on the shared gateway without a data reset, for answers that read no data
    (validation and auth errors): a reset per parametrized case would triple this file's time.
    """
    with http_client(gateway, half) as http:
        yield http


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    return response.json()


def error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    return response.json()["error"]


def invalid(response: httpx.Response, field: str, message: str) -> None:
    assert error(response, 400) == {"code": "invalid_parameter", "message": message, "field": field}


def ids(body: dict[str, Any]) -> list[int]:
    return [item["id"] for item in body["items"]]


def demo_ids(keep: Any) -> list[int]:
    """Ids of the demo events `keep(row)` accepts, in start order (ids follow start time)."""
    return [row["id"] for row in DEMO if keep(row)]


def audit_rows(server: GatewayServer, target: str) -> list[dict[str, Any]]:
    statement = sa.select(audit_log).where(audit_log.c.target == target).order_by(audit_log.c.id)
    return server.run(server.gateway.bridge.resource.db.fetch_all(statement))


def timed(request: Any) -> tuple[datetime, Any, datetime]:
    """The clock before, the answer, the clock after (naive UTC, as the rows store it)."""
    before = utcnow()
    answer = request()
    return before, answer, utcnow()


# --- list ------------------------------------------------------------------------------


def test_list_is_a_page_of_every_event_by_start_time(client: httpx.Client) -> None:
    body = ok(client.get("/api/events/", params={"limit": 100}))
    assert list(body) == ["items", "total", "limit", "offset"]
    assert body["total"] == len(DEMO) == len(body["items"])
    assert (body["limit"], body["offset"]) == (100, 0)
    assert ids(body) == [row["id"] for row in DEMO]
    starts = [item["starts_at"] for item in body["items"]]
    assert starts == sorted(starts)
    first, row = body["items"][0], DEMO[0]
    assert list(first) == ITEM_KEYS
    assert first == {
        "id": row["id"],
        "title": row["title"],
        "description": row["description"],
        "category": row["category"],
        "location": row["location"],
        "starts_at": iso(row["starts_at"]),
        "ends_at": iso(row["ends_at"]),
        "importance": row["importance"],
    }


def test_list_pages_with_limit_and_offset(client: httpx.Client) -> None:
    body = ok(client.get("/api/events/", params={"limit": 5, "offset": 5}))
    assert ids(body) == [row["id"] for row in DEMO[5:10]]
    assert (body["total"], body["limit"], body["offset"]) == (len(DEMO), 5, 5)
    assert ok(client.get("/api/events/"))["limit"] == 20


def test_list_answers_without_the_trailing_slash(client: httpx.Client) -> None:
    with_slash = ok(client.get("/api/events/", params={"category": "tech"}))
    assert ok(client.get("/api/events", params={"category": "tech"})) == with_slash


def test_list_filters_by_category_and_importance(client: httpx.Client) -> None:
    body = ok(client.get("/api/events/", params={"category": "markets"}))
    assert ids(body) == demo_ids(lambda row: row["category"] == "markets")
    body = ok(client.get("/api/events/", params={"importance_min": "0.8"}))
    assert ids(body) == demo_ids(lambda row: row["importance"] >= 0.8)
    assert body["total"] == len(body["items"]) > 0
    body = ok(client.get("/api/events/", params={"category": "tech", "importance_min": 0.5}))
    assert ids(body) == demo_ids(lambda r: r["category"] == "tech" and r["importance"] >= 0.5)


def test_from_is_inclusive_and_to_exclusive(client: httpx.Client) -> None:
    start, end = DEMO[4]["starts_at"], DEMO[9]["starts_at"]
    params = {"from": iso(start), "to": iso(end)}
    assert ids(ok(client.get("/api/events/", params=params))) == [r["id"] for r in DEMO[4:9]]
    # The same instant written with an offset.
    shifted = (start + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S+02:00")
    body = ok(client.get("/api/events/", params={"from": shifted, "limit": 100}))
    assert ids(body) == [row["id"] for row in DEMO[4:]]
    empty = ok(client.get("/api/events/", params={"from": iso(start), "to": iso(start)}))
    assert empty == {"items": [], "total": 0, "limit": 20, "offset": 0}


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"category": "bitcoin"}, "category", "category must be one of: " + ", ".join(CATEGORIES)),
        ({"category": "cooking"}, "category", "category must be one of: " + ", ".join(CATEGORIES)),
        ({"from": "yesterday"}, "from", "from must be an ISO-8601 timestamp"),
        ({"to": "2030-02-30"}, "to", "to must be an ISO-8601 timestamp"),
        ({"from": "2030-01-02", "to": "2030-01-01"}, "to", "to must not be earlier than from"),
        (
            {"importance_min": "1.5"},
            "importance_min",
            "importance_min must be less than or equal to 1.0",
        ),
        (
            {"importance_min": "-0.1"},
            "importance_min",
            "importance_min must be greater than or equal to 0.0",
        ),
        ({"importance_min": "high"}, "importance_min", "importance_min must be a number"),
        ({"limit": 0}, "limit", "limit must be greater than or equal to 1"),
        ({"limit": 101}, "limit", "limit must be less than or equal to 100"),
        ({"offset": -1}, "offset", "offset must be greater than or equal to 0"),
    ],
)
def test_bad_list_parameters_are_400_naming_the_field(
    checks: httpx.Client, params: dict[str, Any], field: str, message: str
) -> None:
    invalid(checks.get("/api/events/", params=params), field, message)


# --- one event -----------------------------------------------------------------------


def test_one_event_is_the_listed_item(client: httpx.Client) -> None:
    listed = ok(client.get("/api/events/", params={"limit": 3}))["items"]
    for item in listed:
        assert ok(client.get(f"/api/events/{item['id']}")) == item
    no_end = next(row for row in DEMO if row["ends_at"] is None)
    assert ok(client.get(f"/api/events/{no_end['id']}"))["ends_at"] is None


def test_unknown_event_is_404(client: httpx.Client) -> None:
    assert error(client.get("/api/events/999"), 404) == {
        "code": "not_found",
        "message": "event not found",
    }


@pytest.mark.parametrize(
    ("event_id", "message"),
    [
        (0, "event_id must be greater than or equal to 1"),
        (2**31, "event_id must be less than or equal to 2147483647"),
    ],
)
def test_event_ids_out_of_range_are_400(checks: httpx.Client, event_id: int, message: str) -> None:
    for response in (
        checks.get(f"/api/events/{event_id}"),
        checks.put(f"/api/events/{event_id}", json={"title": "x"}, headers=ADMIN),
        checks.delete(f"/api/events/{event_id}", headers=ADMIN),
    ):
        invalid(response, "event_id", message)


# --- upcoming, today, categories -----------------------------------------------------------


def test_upcoming_are_the_events_starting_in_the_next_days(client: httpx.Client) -> None:
    for days in (None, 1, 30, 90):  # None: the default, 7
        params = {"limit": 100} | ({"days": days} if days else {})
        before, response, after = timed(
            lambda: client.get("/api/events/upcoming", params=params)  # noqa: B023
        )
        body = ok(response)
        span = timedelta(days=days or 7)
        surely = demo_ids(lambda r: after <= r["starts_at"] < before + span)  # noqa: B023
        maybe = demo_ids(lambda r: before <= r["starts_at"] < after + span)  # noqa: B023
        assert set(surely) <= set(ids(body)) <= set(maybe), days
        assert ids(body) == sorted(ids(body))
        assert body["total"] == len(body["items"])


def test_upcoming_pages(client: httpx.Client) -> None:
    everything = ok(client.get("/api/events/upcoming", params={"days": 90, "limit": 100}))
    page = ok(client.get("/api/events/upcoming", params={"days": 90, "limit": 2, "offset": 1}))
    assert page["items"] == everything["items"][1:3]
    assert (page["total"], page["limit"], page["offset"]) == (everything["total"], 2, 1)


@pytest.mark.parametrize(
    ("days", "message"),
    [
        (0, "days must be greater than or equal to 1"),
        (91, "days must be less than or equal to 90"),
        ("week", "days must be an integer"),
    ],
)
def test_upcoming_days_must_be_1_to_90(checks: httpx.Client, days: Any, message: str) -> None:
    response = checks.get("/api/events/upcoming", params={"days": days})
    invalid(response, "days", message)


def test_today_is_every_event_starting_on_the_utc_day(client: httpx.Client) -> None:
    before, response, after = timed(lambda: client.get("/api/events/today", params={"limit": 100}))
    body = ok(response)
    if before.date() != after.date():
        pytest.skip("the UTC day changed during the request")
    expected = demo_ids(lambda row: row["starts_at"].date() == before.date())
    assert ids(body) == expected
    assert body["total"] == len(expected)
    if ANCHOR.date() == before.date():  # the demo data has events earlier today
        assert any(row["starts_at"] < before for row in DEMO if row["id"] in expected)


def test_today_pages_and_checks_limit(client: httpx.Client) -> None:
    everything = ok(client.get("/api/events/today"))
    page = ok(client.get("/api/events/today", params={"limit": 1, "offset": 1}))
    assert page["items"] == everything["items"][1:2]
    assert error(client.get("/api/events/today", params={"limit": 0}), 400)["field"] == "limit"


def test_categories_count_upcoming_events_of_every_category(client: httpx.Client) -> None:
    before, response, after = timed(lambda: client.get("/api/events/categories"))
    body = ok(response)
    assert [entry["name"] for entry in body["categories"]] == list(CATEGORIES)
    at_most = Counter(row["category"] for row in DEMO if row["starts_at"] >= before)
    at_least = Counter(row["category"] for row in DEMO if row["starts_at"] >= after)
    for entry in body["categories"]:
        assert at_least[entry["name"]] <= entry["upcoming"] <= at_most[entry["name"]]
    assert sum(entry["upcoming"] for entry in body["categories"]) > 0


def test_categories_count_a_category_without_events_as_zero(client: httpx.Client) -> None:
    for row in DEMO:
        if row["category"] == "world":
            client.delete(f"/api/events/{row['id']}", headers=ADMIN)
    counts = {
        c["name"]: c["upcoming"] for c in ok(client.get("/api/events/categories"))["categories"]
    }
    assert counts["world"] == 0
    assert set(counts) == set(CATEGORIES)


# --- calendar --------------------------------------------------------------------------


def test_calendar_groups_the_month_by_start_day(client: httpx.Client) -> None:
    month = ANCHOR.strftime("%Y-%m")
    body = ok(client.get("/api/events/calendar", params={"month": month}))
    assert body["month"] == month
    in_month = [row for row in DEMO if row["starts_at"].strftime("%Y-%m") == month]
    assert list(body["days"]) == sorted({row["starts_at"].strftime("%Y-%m-%d") for row in in_month})
    for day, items in body["days"].items():
        assert items, "days without events are left out"
        assert all(item["starts_at"].startswith(day) for item in items)
        assert [item["id"] for item in items] == sorted(item["id"] for item in items)
    assert sum(len(items) for items in body["days"].values()) == len(in_month)
    assert list(body["days"][iso(in_month[0]["starts_at"])[:10]][0]) == ITEM_KEYS


def test_calendar_buckets_by_the_utc_day_at_the_edges(client: httpx.Client) -> None:
    edges = ["2030-06-15T23:59:59Z", "2030-06-16T00:00:00Z", "2030-06-30T23:59:59Z"]
    created = [
        ok(
            client.post(
                "/api/events", json={**NEW_EVENT, "starts_at": at, "ends_at": None}, headers=ADMIN
            ),
            201,
        )
        for at in edges + ["2030-07-01T00:00:00Z", "2030-06-01T01:00:00+02:00"]
    ]
    body = ok(client.get("/api/events/calendar", params={"month": "2030-06"}))
    assert {day: [item["id"] for item in items] for day, items in body["days"].items()} == {
        "2030-06-15": [created[0]["id"]],
        "2030-06-16": [created[1]["id"]],
        "2030-06-30": [created[2]["id"]],
    }
    # 01:00 at +02:00 on June 1 is 23:00 UTC on May 31.
    may = ok(client.get("/api/events/calendar", params={"month": "2030-05"}))
    assert may["days"] == {"2030-05-31": [created[4]]}
    december = ok(client.get("/api/events/calendar", params={"month": "9999-12"}))
    assert december == {"month": "9999-12", "days": {}}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "month is required"),
        ({"month": "2030-13"}, "month must be written YYYY-MM"),
        ({"month": "2030-6"}, "month must be written YYYY-MM"),
        ({"month": "2030-06-01"}, "month must be written YYYY-MM"),
        ({"month": "0000-01"}, "month must be written YYYY-MM"),
        ({"month": "June"}, "month must be written YYYY-MM"),
    ],
)
def test_calendar_month_must_be_yyyy_mm(
    checks: httpx.Client, params: dict[str, str], message: str
) -> None:
    invalid(checks.get("/api/events/calendar", params=params), "month", message)


# --- search ----------------------------------------------------------------------------


def test_search_matches_title_description_and_location_ignoring_case(
    client: httpx.Client,
) -> None:
    def matching(text: str) -> list[int]:
        fields = ("title", "description", "location")
        return demo_ids(lambda r: any(text in (r[f] or "").lower() for f in fields))

    for q in ("FOMC", "bitcoin", "lisbon", "volatility", "  summit  "):
        body = ok(client.get("/api/events/search", params={"q": q, "limit": 100}))
        assert ids(body) == matching(q.strip().lower()), q
        assert body["total"] == len(body["items"]) > 0
    assert ok(client.get("/api/events/search", params={"q": "cricket"}))["total"] == 0


def test_search_treats_like_wildcards_as_text(client: httpx.Client) -> None:
    for q in ("%%", "__", "%_%"):
        assert ok(client.get("/api/events/search", params={"q": q}))["items"] == []
    created = ok(
        client.post("/api/events", json={**NEW_EVENT, "title": "100% crypto"}, headers=ADMIN), 201
    )
    assert ids(ok(client.get("/api/events/search", params={"q": "0%"}))) == [created["id"]]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "q is required"),
        ({"q": "a"}, "q must be at least 2 characters"),
        ({"q": "     "}, "q must be at least 2 characters"),
        ({"q": "a" * 101}, "q must be at most 100 characters"),
    ],
)
def test_search_q_is_2_to_100_characters(
    checks: httpx.Client, params: dict[str, str], message: str
) -> None:
    invalid(checks.get("/api/events/search", params=params), "q", message)


# --- admin writes ------------------------------------------------------------------------


def test_create_is_201_with_the_event_and_its_location(
    client: httpx.Client, gateway: GatewayServer
) -> None:
    response = client.post("/api/events", json=NEW_EVENT, headers=ADMIN)
    created = ok(response, 201)
    assert created == {"id": len(DEMO) + 1, **NEW_EVENT}
    assert list(created) == ITEM_KEYS
    assert response.headers["location"] == f"/api/events/{created['id']}"
    assert ok(client.get(response.headers["location"])) == created
    listed = ok(client.get("/api/events/", params={"from": "2030-01-01"}))
    assert listed["items"] == [created]
    [entry] = audit_rows(gateway, f"events:{created['id']}")
    assert (entry["actor"], entry["action"]) == ("admin", "event.create")
    assert entry["details"]["title"] == NEW_EVENT["title"]
    assert entry["details"]["starts_at"] == NEW_EVENT["starts_at"]


def test_create_fills_defaults_trims_and_stores_utc_whole_seconds(client: httpx.Client) -> None:
    body = {
        "title": "  Year-end wrap  ",
        "category": "markets",
        "starts_at": "2031-01-01T01:30:00.75+02:00",
        "colour": "blue",
    }
    created = ok(client.post("/api/events", json=body, headers=ADMIN), 201)
    assert created == {
        "id": created["id"],
        "title": "Year-end wrap",
        "description": "",
        "category": "markets",
        "location": None,
        "starts_at": "2030-12-31T23:30:00Z",
        "ends_at": None,
        "importance": 0.5,
    }


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"title": None}, "title", "title must be a string"),
        ({"title": "   "}, "title", "title must be at least 1 characters"),
        ({"title": "x" * 301}, "title", "title must be at most 300 characters"),
        ({"category": "bitcoin"}, "category", "category must be one of: " + ", ".join(CATEGORIES)),
        ({"category": 1}, "category", "category must be a string"),
        ({"starts_at": 1900000000}, "starts_at", "starts_at must be an ISO-8601 timestamp"),
        ({"starts_at": "next week"}, "starts_at", "starts_at must be an ISO-8601 timestamp"),
        (
            {"ends_at": "2030-06-15T23:00:00Z"},
            "ends_at",
            "ends_at must not be earlier than starts_at",
        ),
        ({"location": "x" * 201}, "location", "location must be at most 200 characters"),
        ({"description": ["a"]}, "description", "description must be a string"),
        ({"importance": "0.5"}, "importance", "importance must be a number"),
        ({"importance": True}, "importance", "importance must be a number"),
        ({"importance": 1.5}, "importance", "importance must be less than or equal to 1.0"),
    ],
)
def test_create_checks_the_body(
    checks: httpx.Client, change: dict[str, Any], field: str, message: str
) -> None:
    response = checks.post("/api/events", json={**NEW_EVENT, **change}, headers=ADMIN)
    invalid(response, field, message)


@pytest.mark.parametrize("missing", ["title", "category", "starts_at"])
def test_create_requires_title_category_and_start(checks: httpx.Client, missing: str) -> None:
    body = {key: value for key, value in NEW_EVENT.items() if key != missing}
    response = checks.post("/api/events", json=body, headers=ADMIN)
    invalid(response, missing, f"{missing} is required")


@pytest.mark.parametrize(
    ("content", "content_type", "message"),
    [
        ("{not json", "application/json", "request body is not valid JSON"),
        ("[1, 2]", "application/json", "request body must be a JSON object"),
        ("", "application/json", "request body must be a JSON object"),
        ("title=x", "application/x-www-form-urlencoded", "request body must be a JSON object"),
    ],
)
def test_bodies_that_are_not_a_json_object_are_400(
    checks: httpx.Client, content: str, content_type: str, message: str
) -> None:
    headers = {**ADMIN, "Content-Type": content_type}
    for response in (
        checks.post("/api/events", content=content, headers=headers),
        checks.put("/api/events/1", content=content, headers=headers),
    ):
        assert error(response, 400) == {"code": "invalid_json", "message": message}


def test_update_changes_only_the_fields_sent_and_is_audited(
    client: httpx.Client, gateway: GatewayServer
) -> None:
    before = ok(client.get("/api/events/1"))
    change = {"title": "Moved meetup", "location": None, "importance": 1}
    updated = ok(client.put("/api/events/1", json=change, headers=ADMIN))
    assert updated == {**before, "title": "Moved meetup", "location": None, "importance": 1.0}
    assert ok(client.get("/api/events/1")) == updated
    [entry] = audit_rows(gateway, "events:1")
    assert (entry["actor"], entry["action"]) == ("admin", "event.update")
    assert entry["details"] == change


def test_update_can_clear_the_end_and_move_the_start(client: httpx.Client) -> None:
    event = next(row for row in DEMO if row["ends_at"] is not None)
    start = "2030-01-01T10:00:00Z"
    change = {"starts_at": start, "ends_at": None}
    updated = ok(client.put(f"/api/events/{event['id']}", json=change, headers=ADMIN))
    assert (updated["starts_at"], updated["ends_at"]) == (start, None)


def test_update_checks_the_span_against_the_stored_row(client: httpx.Client) -> None:
    event = next(row for row in DEMO if row["ends_at"] is not None)
    path = f"/api/events/{event['id']}"
    early_end = iso(event["starts_at"] - timedelta(minutes=1))
    invalid(
        client.put(path, json={"ends_at": early_end}, headers=ADMIN),
        "ends_at",
        "ends_at must not be earlier than starts_at",
    )
    late_start = iso(event["ends_at"] + timedelta(minutes=1))
    invalid(
        client.put(path, json={"starts_at": late_start}, headers=ADMIN),
        "starts_at",
        "starts_at must not be later than ends_at",
    )
    moved = {"starts_at": late_start, "ends_at": iso(event["ends_at"] + timedelta(hours=1))}
    assert ok(client.put(path, json=moved, headers=ADMIN))["starts_at"] == late_start
    same = iso(event["ends_at"] + timedelta(hours=1))
    assert ok(client.put(path, json={"starts_at": same}, headers=ADMIN))["starts_at"] == same


@pytest.mark.parametrize("field", ["title", "category", "starts_at", "description", "importance"])
def test_update_cannot_null_a_required_field(checks: httpx.Client, field: str) -> None:
    response = checks.put("/api/events/1", json={field: None}, headers=ADMIN)
    invalid(response, field, f"{field} must not be null")


def test_update_with_nothing_to_change_writes_nothing(
    client: httpx.Client, gateway: GatewayServer
) -> None:
    before = ok(client.get("/api/events/2"))
    assert ok(client.put("/api/events/2", json={"colour": "blue"}, headers=ADMIN)) == before
    assert audit_rows(gateway, "events:2") == []
    stamp = gateway.run(
        gateway.gateway.bridge.resource.db.scalar(
            sa.select(events.c.updated_at).where(events.c.id == 2)
        )
    )
    assert stamp == DEMO[1]["updated_at"]


def test_update_of_an_unknown_event_is_404_after_the_body_is_checked(
    client: httpx.Client,
) -> None:
    assert error(client.put("/api/events/999", json={"title": "x"}, headers=ADMIN), 404) == {
        "code": "not_found",
        "message": "event not found",
    }
    bad = client.put("/api/events/999", json={"importance": 5}, headers=ADMIN)
    assert error(bad, 400)["field"] == "importance"


def test_delete_is_204_without_a_body_then_404(
    client: httpx.Client, gateway: GatewayServer
) -> None:
    response = client.delete("/api/events/3", headers=ADMIN)
    assert response.status_code == 204
    assert response.content == b""
    assert "content-type" not in response.headers
    assert error(client.get("/api/events/3"), 404)["code"] == "not_found"
    assert error(client.delete("/api/events/3", headers=ADMIN), 404) == {
        "code": "not_found",
        "message": "event not found",
    }
    [entry] = audit_rows(gateway, "events:3")
    assert (entry["action"], entry["details"]) == ("event.delete", {"title": DEMO[2]["title"]})
    assert ok(client.get("/api/events/"))["total"] == len(DEMO) - 1


# --- admin access ------------------------------------------------------------------------


def admin_requests(client: httpx.Client, headers: dict[str, str]) -> list[httpx.Response]:
    json_headers = {**headers, "Content-Type": "application/json"}
    return [
        client.post("/api/events", json=NEW_EVENT, headers=headers),
        client.put("/api/events/1", json={"title": "x"}, headers=headers),
        client.delete("/api/events/1", headers=headers),
        # Neither a malformed body nor a bad id gets ahead of the admin check.
        client.post("/api/events", content="{not json", headers=json_headers),
        client.put("/api/events/0", content="{not json", headers=json_headers),
        client.delete("/api/events/0", headers=headers),
    ]


def test_writes_without_the_admin_token_are_401_and_change_nothing(client: httpx.Client) -> None:
    for headers, message in (
        ({}, "an admin bearer token is required"),
        ({"Authorization": "Bearer wrong-token"}, "the admin token is wrong"),
        ({"Authorization": f"Basic {ADMIN_TOKEN}"}, "an admin bearer token is required"),
    ):
        for response in admin_requests(client, headers):
            assert error(response, 401) == {"code": "unauthorized", "message": message}
    assert ok(client.get("/api/events/1"))["title"] == DEMO[0]["title"]
    assert ok(client.get("/api/events/", params={"limit": 100}))["total"] == len(DEMO)


def test_the_path_is_checked_before_a_malformed_body(checks: httpx.Client) -> None:
    headers = {**ADMIN, "Content-Type": "application/json"}
    response = checks.put("/api/events/0", content="{not json", headers=headers)
    assert error(response, 400)["field"] == "event_id"


def test_writes_are_503_when_no_admin_token_is_configured(start_gateway: Any) -> None:
    _, http = start_gateway(admin_token=None)
    for response in admin_requests(http, ADMIN):
        assert error(response, 503) == {
            "code": "unavailable",
            "message": "admin access is not configured (ADMIN_TOKEN is unset)",
        }
    assert ok(http.get("/api/events/1"))["title"] == DEMO[0]["title"]
