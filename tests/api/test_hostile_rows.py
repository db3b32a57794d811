"""Bad data cannot get in, and stored data cannot break a page.

Every write refuses timestamps outside the years 1970..2100 (400 naming the field). Rows
that no write of ours would store (written before the checks, by hand, by another tool)
are planted straight into the database: every list endpoint and page reads them on both
halves and both databases without a 5xx, and shows every timestamp as `YYYY-MM-DDTHH:MM:SSZ`.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import sqlalchemy as sa

from shared.database import schema
from shared.database.engine import Database
from shared.database.migrate import wipe
from shared.database.rows import utcnow
from tests.conftest import ADMIN_TOKEN
from tests.support.gateway_server import GatewayServer

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
NOW = utcnow().replace(microsecond=0)
YEAR_1 = datetime(1, 1, 1)
YEAR_866 = datetime(866, 12, 10, 9, 53, 32)
YEAR_9999 = datetime(9999, 12, 31, 23, 59, 59)
SCRIPT = '<script>alert("x")</script><img src=x onerror=alert(1)>'
UNICODE = "Ünïcödé 🚀 עברית مرحبا \u202e\u200b ﷽"
LONG = "zzhostile " + "x" * 20_000
JOB_ID = "4f0e4b8e-0b6b-4b8e-9a4e-000000000001"

# A well-formed timestamp, and anything that looks like one at all (`866-12-10T…`).
ISO_Z = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
LOOKS_LIKE_A_TIMESTAMP = re.compile(r"(?<![\d-])-?\d{1,6}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


def _news(id: int, published_at: datetime, **values: Any) -> dict[str, Any]:
    row = {
        "id": id,
        "title": f"zzhostile news {id}",
        "summary": "",
        "link": f"https://hostile.test/{id}",
        "source_id": None,
        "category": "crypto",
        "subcategory": None,
        "importance": 0.5,
        "published_at": published_at,
        "created_at": published_at,
    }
    return {**row, **values}


def _event(id: int, starts_at: datetime, **values: Any) -> dict[str, Any]:
    row = {
        "id": id,
        "title": f"zzhostile event {id}",
        "description": "",
        "category": "tech",
        "location": None,
        "starts_at": starts_at,
        "ends_at": None,
        "importance": 0.5,
        "created_at": starts_at,
        "updated_at": starts_at,
    }
    return {**row, **values}


def hostile_rows() -> dict[sa.Table, list[dict[str, Any]]]:
    soon = NOW + timedelta(hours=2)
    return {
        schema.sources: [
            {
                "id": 1,
                "name": SCRIPT,
                "url": "javascript:alert(1)",
                "category": "cooking",
                "enabled": True,
                "last_fetched_at": YEAR_9999,
                "last_error": LONG,
                "created_at": YEAR_1,
            },
            {
                "id": 2,
                "name": UNICODE,
                "url": "",
                "category": "",
                "enabled": True,
                "last_fetched_at": None,
                "last_error": None,
                "created_at": YEAR_866,
            },
            {
                "id": 3,
                "name": "",
                "url": "https://hostile.test/feed",
                "category": "crypto",
                "enabled": False,
                "last_fetched_at": YEAR_1,
                "last_error": "",
                "created_at": NOW,
            },
        ],
        schema.news: [
            _news(
                1,
                YEAR_1,
                title="",
                summary=LONG,
                source_id=1,
                category="cooking",
                subcategory="💥",
                importance=-5.0,
            ),
            _news(
                2, YEAR_866, title=SCRIPT, link="javascript:alert(1)", source_id=2, importance=7.5
            ),
            _news(
                3,
                YEAR_9999,
                title=UNICODE,
                summary=SCRIPT,
                link="",
                source_id=3,
                subcategory="tennis",
                importance=float("inf"),
            ),
            _news(
                4,
                NOW,
                title="x" * 500,
                link="https://hostile.test/" + "y" * 970,
                category="",
                subcategory="",
                importance=float("-inf"),
                created_at=YEAR_1,
            ),
            _news(
                5,
                NOW - timedelta(hours=1),
                summary=UNICODE,
                category="sports",
                subcategory="bitcoin",
            ),
        ],
        schema.events: [
            _event(1, YEAR_1, title="", description=LONG, category="cooking", importance=-1.0),
            _event(2, YEAR_9999, ends_at=YEAR_1, location=SCRIPT, importance=99.0),
            _event(3, soon, ends_at=YEAR_9999, title=SCRIPT, category="", location=""),
            _event(
                4,
                NOW.replace(hour=0, minute=0, second=0),
                title=UNICODE,
                ends_at=YEAR_866,
                updated_at=YEAR_9999,
                importance=float("inf"),
            ),
            _event(5, YEAR_866, title="x" * 300, created_at=YEAR_9999),
        ],
        schema.users: [
            {
                "id": 1,
                "telegram_id": 2**63 - 1,
                "username": None,
                "language": "",
                "is_blocked": False,
                "created_at": YEAR_1,
                "last_seen_at": YEAR_9999,
            },
            {
                "id": 2,
                "telegram_id": -(2**63),
                "username": SCRIPT[:100],
                "language": "xx-🚀",
                "is_blocked": True,
                "created_at": YEAR_9999,
                "last_seen_at": None,
            },
            {
                "id": 3,
                "telegram_id": 0,
                "username": "",
                "language": "en",
                "is_blocked": False,
                "created_at": YEAR_866,
                "last_seen_at": YEAR_866,
            },
        ],
        schema.subscriptions: [
            {"id": 1, "user_id": 1, "category": "cooking", "created_at": YEAR_1},
            {"id": 2, "user_id": 1, "category": "", "created_at": YEAR_9999},
            {"id": 3, "user_id": 1, "category": "crypto", "created_at": YEAR_866},
            {"id": 4, "user_id": 3, "category": "bitcoin", "created_at": NOW},
        ],
        schema.user_preferences: [
            {
                "user_id": 1,
                "style": "poem",
                "tone": "",
                "length": None,
                "audience": SCRIPT[:20],
                "language": "🚀",
                "notify_time": "99:99",
                "timezone": "Mars/Olympus_Mons",
                "updated_at": YEAR_1,
            },
            {
                "user_id": 3,
                "style": None,
                "tone": None,
                "length": None,
                "audience": None,
                "language": None,
                "notify_time": None,
                "timezone": None,
                "updated_at": YEAR_9999,
            },
        ],
        schema.digests: [
            {
                "id": 1,
                "user_id": 1,
                "text": "",
                "model": "",
                "news_ids": [999, -1],
                "params": {},
                "duration_ms": -5,
                "created_at": YEAR_1,
            },
            {
                "id": 2,
                "user_id": 1,
                "text": LONG + SCRIPT,
                "model": SCRIPT[:100],
                "news_ids": {"not": "a list"},
                "params": ["not", "an", "object"],
                "duration_ms": 2**31 - 1,
                "created_at": YEAR_9999,
            },
            {
                "id": 3,
                "user_id": None,
                "text": UNICODE,
                "model": "extractive",
                "news_ids": [],
                "params": {"style": "poem", "limit": "many"},
                "duration_ms": 0,
                "created_at": YEAR_866,
            },
        ],
        schema.digest_jobs: [
            {
                "id": JOB_ID,
                "status": "exploded",
                "params": {"x": None},
                "user_id": 1,
                "digest_id": 2,
                "error": LONG,
                "created_at": YEAR_1,
                "updated_at": YEAR_9999,
            },
        ],
        schema.bookmarks: [
            {"id": 1, "user_id": 1, "news_id": 1, "created_at": YEAR_9999},
            {"id": 2, "user_id": 1, "news_id": 2, "created_at": YEAR_1},
            {"id": 3, "user_id": 1, "news_id": 3, "created_at": YEAR_866},
        ],
        schema.news_feedback: [
            {"id": 1, "news_id": 1, "user_id": 1, "value": 5, "created_at": YEAR_1},
            {"id": 2, "news_id": 1, "user_id": 2, "value": 0, "created_at": YEAR_9999},
            {"id": 3, "news_id": 2, "user_id": 1, "value": -32768, "created_at": YEAR_866},
        ],
        schema.notifications: [
            {
                "id": 1,
                "user_id": 1,
                "title": "",
                "body": LONG,
                "is_read": False,
                "created_at": YEAR_1,
            },
            {
                "id": 2,
                "user_id": 1,
                "title": SCRIPT,
                "body": UNICODE,
                "is_read": True,
                "created_at": YEAR_9999,
            },
        ],
        schema.analytics_events: [
            {
                "id": 1,
                "name": SCRIPT[:64],
                "user_id": 1,
                "props": ["a", 1, None],
                "created_at": YEAR_9999,
            },
            {
                "id": 2,
                "name": "",
                "user_id": None,
                "props": {"category": "cooking"},
                "created_at": YEAR_1,
            },
            {
                "id": 3,
                "name": "news_view",
                "user_id": 1,
                "props": {"category": 42},
                "created_at": NOW,
            },
            {
                "id": 4,
                "name": "digest_generated",
                "user_id": 3,
                "props": "a string",
                "created_at": YEAR_866,
            },
        ],
        schema.app_config: [
            {"key": "features", "value": "not an object", "updated_at": YEAR_1},
            {"key": "digest_defaults", "value": [1, 2, 3], "updated_at": YEAR_9999},
            {"key": SCRIPT[:100], "value": None, "updated_at": YEAR_866},
            {"key": "zz-unicode", "value": {"deep": [[[{"x": UNICODE}]]]}, "updated_at": NOW},
        ],
        schema.audit_log: [
            {
                "id": 1,
                "actor": "",
                "action": SCRIPT[:100],
                "target": None,
                "details": ["not", "an", "object"],
                "created_at": YEAR_1,
            },
            {
                "id": 2,
                "actor": UNICODE,
                "action": "news.create",
                "target": "",
                "details": {"when": "0866-12-10"},
                "created_at": YEAR_9999,
            },
        ],
    }


def plant(gateway: GatewayServer, rows: dict[sa.Table, list[dict[str, Any]]]) -> None:
    """Replace every row with `rows`, straight into the database (no API in between)."""

    async def insert() -> None:
        db = Database(gateway.settings.database_url)
        await db.connect()
        try:
            await wipe(db)
            async with db.transaction() as tx:
                for table in schema.TABLES:
                    if rows.get(table):
                        await tx.execute(sa.insert(table), rows[table])
        finally:
            await db.close()
        gateway.gateway.bridge.resource.caches.clear()  # e.g. app config read before

    gateway.run(insert())


def paths() -> list[str]:
    month = NOW.strftime("%Y-%m")
    names = [SCRIPT, UNICODE]
    return [
        "/api/health",
        "/api/sources",
        "/api/news?limit=100",
        "/api/news?limit=100&order=importance",
        "/api/news?limit=100&category=crypto",
        "/api/news?limit=100&since=1970-01-01T00:00:00Z",
        *(f"/api/news/{i}" for i in range(1, 6)),
        "/api/news/search?q=zzhostile&limit=100",
        "/api/news/trending?hours=168&limit=100",
        "/api/news/latest?limit=100",
        "/api/news/latest?limit=100&category=crypto",
        "/api/news/top?limit=100",
        *(f"/api/news/by-source/{quote(name, safe='')}?limit=100" for name in names),
        "/api/news/category/crypto?limit=100",
        "/api/news/category/tennis?limit=100",
        "/api/news/stats",
        "/api/subscriptions?user_id=1",
        *(f"/api/users/{i}" for i in (1, 2, 3)),
        *(f"/api/users/{i}/preferences" for i in (1, 3)),
        "/api/digest/history?user_id=1&limit=50",
        *(f"/api/digest/{i}" for i in (1, 2, 3)),
        f"/api/digest/jobs/{JOB_ID}",
        "/api/digest/options",
        "/api/bookmarks?user_id=1",
        "/api/notifications?user_id=1",
        "/api/events/?limit=100",
        "/api/events/?limit=100&from=1970-01-01T00:00:00Z&importance_min=0",
        *(f"/api/events/{i}" for i in range(1, 6)),
        "/api/events/upcoming?days=90&limit=100",
        "/api/events/today",
        f"/api/events/calendar?month={month}",
        "/api/events/calendar?month=9999-12",
        "/api/events/calendar?month=0001-01",
        "/api/events/search?q=zzhostile&limit=100",
        "/api/events/categories",
        "/admin/",
        "/admin/api/stats",
        "/admin/api/users?limit=100",
        *(f"/admin/api/users/{i}" for i in (1, 2, 3)),
        "/admin/api/sources",
        "/admin/api/audit?limit=100",
        "/api/dashboard/news/today",
        "/api/dashboard/news/week",
        "/api/dashboard/news/by-category?days=90",
        "/api/dashboard/news/by-source?days=90",
        "/api/dashboard/events/upcoming",
        "/api/dashboard/users",
        "/api/dashboard/subscriptions",
        "/api/dashboard/digests",
        "/api/dashboard/activity?limit=100",
        "/api/dashboard/summary",
        "/api/config",
        "/api/config/features",
        "/api/config/digest_defaults",
        "/api/config/zz-unicode",
        f"/api/config/{quote(SCRIPT[:100], safe='')}",
        "/api/metrics",
        "/api/metrics/health",
        "/api/metrics/db",
        "/api/metrics/routes",
        "/api/metrics/content",
        "/api/analytics/events?limit=100",
        "/api/analytics/events?limit=100&since=1970-01-01T00:00:00Z",
        "/api/analytics/popular-categories?days=90",
        *(f"/api/analytics/users/{i}/activity" for i in (1, 3)),
        "/api/analytics/funnel?steps=news_view,digest_generated&days=90",
        "/webapp/",
        "/webapp/news",
        "/webapp/news?category=crypto",
        "/webapp/news?category=tennis",
        "/webapp/events",
        "/webapp/events?category=tech",
        "/webapp/digest",
        "/webapp/subscriptions",
        "/webapp/settings",
        "/webapp/api/feed?user_id=1&limit=100",
        "/webapp/api/feed?user_id=3&limit=100",
    ]


def _strings(value: Any, key: str = "") -> list[tuple[str, str]]:
    """Every (key, string) in a JSON value, dict keys included."""
    if isinstance(value, dict):
        found = [("", k) for k in value]
        for k, v in value.items():
            found += _strings(v, str(k))
        return found
    if isinstance(value, list):
        return [pair for item in value for pair in _strings(item, key)]
    return [(key, value)] if isinstance(value, str) else []


def timestamp_problems(response: httpx.Response) -> list[str]:
    """Timestamps not written `YYYY-MM-DDTHH:MM:SSZ` in a JSON answer or an HTML page."""
    if response.headers.get("content-type", "").startswith("application/json"):
        texts = _strings(response.json())
        stamps = [t for k, t in texts if k.endswith("_at") or LOOKS_LIKE_A_TIMESTAMP.match(t)]
        return [t for t in stamps if not ISO_Z.fullmatch(t)]
    attributes = re.findall(r'datetime="([^"]*)"', response.text)
    texts = LOOKS_LIKE_A_TIMESTAMP.findall(response.text)
    return [t for t in attributes if not ISO_Z.fullmatch(t)] + [
        t for t in texts if not re.match(r"\d{4}-", t)
    ]


@pytest.fixture
def planted(client: httpx.Client, gateway: GatewayServer) -> httpx.Client:
    plant(gateway, hostile_rows())
    return client


def test_every_list_and_page_survives_hostile_rows(planted: httpx.Client) -> None:
    failures = []
    for path in paths():
        response = planted.get(path, headers=ADMIN)
        if response.status_code >= 500:
            failures.append(f"{path}: {response.status_code} {response.text[:200]}")
        elif response.status_code == 200 and (odd := timestamp_problems(response)):
            failures.append(f"{path}: timestamps {odd[:3]}")
    assert not failures, "\n".join(failures)


def test_hostile_rows_are_really_shown(planted: httpx.Client) -> None:
    """The survey above reads the planted rows, not empty lists."""
    items = planted.get("/api/news", params={"limit": 100}).json()["items"]
    stamps = [item["published_at"] for item in items]
    assert stamps[0] == "9999-12-31T23:59:59Z"
    assert {"0866-12-10T09:53:32Z", "0001-01-01T00:00:00Z"} <= set(stamps)
    assert all(0 <= item["importance"] <= 1 for item in items)
    page = planted.get("/webapp/news").text
    assert 'datetime="0866-12-10T09:53:32Z"' in page
    assert 'href="javascript:' not in page  # a stored javascript: link is no link
    assert "<script>alert" not in page and "&lt;script&gt;alert" in page


# --- bad data cannot get in -------------------------------------------------------------

OUT_OF_RANGE = [
    "0866-12-10T09:53:32Z",  # the poisoned row
    "0001-01-01T00:00:00+01:00",  # before the calendar's start in UTC
    "1969-12-31T23:59:59Z",
    "2101-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
]
NEWS = {"title": "T", "link": "https://news.test/range", "category": "crypto"}
EVENT = {"title": "T", "category": "crypto", "starts_at": "2030-06-15T10:00:00Z"}


def test_writes_refuse_timestamps_outside_the_stored_years(client: httpx.Client) -> None:
    writes = [
        ("POST", "/admin/api/news", NEWS, "published_at"),
        ("POST", "/api/events", EVENT, "starts_at"),
        ("POST", "/api/events", EVENT, "ends_at"),
        ("PUT", "/api/events/1", {}, "starts_at"),
        ("PUT", "/api/events/1", {}, "ends_at"),
    ]
    before = client.get("/api/events/1").json()
    counts = client.get("/admin/api/stats", headers=ADMIN).json()
    for method, path, body, field in writes:
        for value in OUT_OF_RANGE:
            response = client.request(method, path, json={**body, field: value}, headers=ADMIN)
            assert response.status_code == 400, (path, field, value, response.text)
            assert response.json()["error"] == {
                "code": "invalid_parameter",
                "message": f"{field} must be a timestamp in the years 1970 to 2100",
                "field": field,
            }
    assert client.get("/admin/api/stats", headers=ADMIN).json() == counts
    assert client.get("/api/events/1").json() == before


def test_the_edges_of_the_stored_years_are_accepted(client: httpx.Client) -> None:
    first = {**NEWS, "published_at": "1970-01-01T00:00:00Z"}
    created = client.post("/admin/api/news", json=first, headers=ADMIN)
    assert created.status_code == 201, created.text
    assert created.json()["news"]["published_at"] == "1970-01-01T00:00:00Z"
    last = {**EVENT, "starts_at": "2100-12-31T23:59:59+00:00", "ends_at": None}
    created = client.post("/api/events", json=last, headers=ADMIN)
    assert created.status_code == 201, created.text
    assert created.json()["starts_at"] == "2100-12-31T23:59:59Z"


@pytest.mark.parametrize(
    ("path", "name", "value"),
    [
        ("/api/news", "since", "0001-01-01T00:00:00+01:00"),
        ("/api/news", "until", "9999-12-31T23:59:59-01:00"),
        ("/api/events/", "to", "9999-12-31T23:59:59-01:00"),
        ("/api/analytics/events", "since", "0001-01-01T00:00:00+01:00"),
    ],
)
def test_a_filter_beyond_the_calendar_in_utc_is_400(
    client: httpx.Client, path: str, name: str, value: str
) -> None:
    response = client.get(path, params={name: value}, headers=ADMIN)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["field"] == name
