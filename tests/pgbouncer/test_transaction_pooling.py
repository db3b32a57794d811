"""The gateway behind a transaction pooler, on each half: what Supabase's port 6543 does.

PgBouncer (`pool_mode = transaction`) gives each transaction whichever server connection
is free, and has fewer of them (5) than the gateway's pool (10 + 10): a statement left
prepared by one client is met by the next. With the driver's defaults that fails
(`prepared statement "__asyncpg_stmt_1__" already exists`); the URL's pooler mode turns
prepared statements off, and nothing else changes.
"""

from __future__ import annotations

import asyncio
import gc
import json
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from gateway.manifest import load_manifest
from shared.database.engine import Database
from tests.conftest import ADMIN_TOKEN, ANCHOR, ROOT, http_client
from tests.support.gateway_server import GatewayServer
from tests.support.pgbouncer import PrivatePgBouncer

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
# The query a read route needs to reach its database query rather than a 400.
NEEDS: dict[str, dict[str, str | int]] = {
    "/api/news/search": {"q": "bitcoin"},
    "/api/subscriptions": {"user_id": 1},
    "/api/digest/history": {"user_id": 1},
    "/api/bookmarks": {"user_id": 1},
    "/api/notifications": {"user_id": 1},
    "/api/events/search": {"q": "conference"},
    "/api/events/calendar": {"month": ANCHOR.strftime("%Y-%m")},
    "/api/analytics/funnel": {"steps": "app.open,news.open"},
    "/webapp/api/feed": {"user_id": 1},
}
# Before the first ingest run its progress is a 404, after the query that looked for it.
ANSWERS = {"/admin/api/ingest": 404}
NOT_A_READ = {"/api/events/stream"}  # a stream that stays open; tests/api covers it
BURST = 1000
CONCURRENT_CLIENTS = 50
CATEGORIES = ("crypto", "tech", "world", "markets", "sports")
Request = tuple[str, str, dict[str, Any] | None]


def read_routes() -> list[str]:
    """Every GET route of the manifest without a variable part."""
    manifest = load_manifest(ROOT / "migration_status.yaml")
    paths = {
        entry.path
        for entry in manifest.entries.values()
        if entry.method == "GET" and "<" not in entry.path and entry.path not in NOT_A_READ
    }
    return sorted(paths)


def test_every_read_route_answers_through_the_transaction_pooler(
    pooled_gateway: GatewayServer, half: str
) -> None:
    pooled_gateway.reset_data(anchor=ANCHOR)
    routes = read_routes()
    assert len(routes) > 40
    failures = []
    with http_client(pooled_gateway, half) as http:
        for _ in range(6):  # each statement more often than psycopg's prepare threshold (5)
            for path in routes:
                response = http.get(path, params=NEEDS.get(path), headers=ADMIN)
                if response.status_code != ANSWERS.get(path, 200):
                    failures.append(f"{path}: {response.status_code} {response.text[:200]}")
    assert failures == []


def test_writes_commit_through_the_transaction_pooler(
    pooled_gateway: GatewayServer, half: str
) -> None:
    pooled_gateway.reset_data(anchor=ANCHOR)
    with http_client(pooled_gateway, half) as http:
        change = {"user_id": 4, "category": "world", "action": "subscribe"}
        assert http.post("/api/subscriptions/update", json=change).status_code == 200
        listed = http.get("/api/subscriptions", params={"user_id": 4}).json()
        assert "world" in {item["category"] for item in listed["subscriptions"]}

        added = http.post("/api/bookmarks", json={"user_id": 2, "news_id": 1})
        assert added.status_code == 201, added.text
        again = http.post("/api/bookmarks", json={"user_id": 2, "news_id": 1})
        assert again.status_code == 409  # the unique constraint, met through the pooler

        put = http.put("/api/users/2/preferences", json={"tone": "critical"})
        assert put.status_code == 200, put.text
        assert http.get("/api/users/2/preferences").json()["tone"] == "critical"
        digest = {"limit": 3, "categories": ["crypto"]}  # extractive: no AI key
        generated = http.post("/api/digest/generate", json=digest)
        assert generated.status_code == 200, generated.text


def mixed_requests(run: str) -> list[Request]:
    """Reads and writes in turn; every write is a subscribe (idempotent) or a new event row,
    so what the database holds afterwards does not depend on the order they landed in."""
    requests: list[Request] = []
    for i in range(BURST):
        user, category = 1 + i % 4, CATEGORIES[i // 5 % len(CATEGORIES)]
        match i % 5:
            case 0:
                body = {"event": f"burst.{run}", "user_id": user, "props": {"i": i}}
                requests.append(("POST", "/api/analytics/track", body))
            case 1:
                body = {"user_id": user, "category": category, "action": "subscribe"}
                requests.append(("POST", "/api/subscriptions/update", body))
            case 2:
                requests.append(("GET", f"/api/subscriptions?user_id={user}", None))
            case 3:
                requests.append(("GET", f"/api/news/latest?category={category}&limit=5", None))
            case _:
                requests.append(("GET", "/api/events/upcoming", None))
    return requests


def burst(base_url: str, requests: list[Request]) -> Counter[str]:
    """The requests from CONCURRENT_CLIENTS clients in another process: answers by status
    and side."""
    done = subprocess.run(
        [sys.executable, "-m", "tests.pgbouncer.burst_client", base_url, str(CONCURRENT_CLIENTS)],
        input=json.dumps(requests),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return Counter(json.loads(done.stdout))


@contextmanager
def no_full_collections_of_older_objects() -> Iterator[None]:
    """A full garbage collection of this test process's heap (pytest, every gateway of the
    session) takes over 100 ms on the loop thread, which the loop-block guard rightly counts;
    what the burst allocates is collected as usual."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def test_a_burst_of_1000_mixed_reads_and_writes_through_the_pooler_has_no_errors(
    pooled_gateway: GatewayServer, half: str
) -> None:
    pooled_gateway.reset_data(anchor=ANCHOR)
    requests = mixed_requests(half)
    with no_full_collections_of_older_objects():
        answers = burst(pooled_gateway.url, requests)
    expected_ok = {"200", "202"}  # reads and subscribes; tracked events are accepted
    ok = sum(n for outcome, n in answers.items() if outcome.split()[0] in expected_ok)
    assert ok == BURST, answers
    assert {outcome.split()[1] for outcome in answers} == {half}

    with http_client(pooled_gateway, half) as http:
        events = http.get(
            "/api/analytics/events", params={"name": f"burst.{half}", "limit": 1}, headers=ADMIN
        )
        assert events.json()["total"] == BURST // 5  # every tracked event is there, once
        for user in range(1, 5):
            body = http.get("/api/subscriptions", params={"user_id": user}).json()
            subscribed = {item["category"] for item in body["subscriptions"]}
            asked = {
                change["category"]
                for _, path, change in requests
                if path == "/api/subscriptions/update" and change and change["user_id"] == user
            }
            assert asked and asked <= subscribed, (user, asked, subscribed)


@pytest.mark.parametrize("driver", ["asyncpg", "psycopg"])
def test_the_pooler_is_in_transaction_mode_so_driver_defaults_fail_and_ours_do_not(
    pgbouncer: PrivatePgBouncer, pooled_database: str, driver: str
) -> None:
    """The control: without the pooler-safe options the same pooler breaks the driver, so
    the tests above could fail; with them, the same work has no error."""
    url = make_url(pgbouncer.url_for(pooled_database)).set(drivername=f"postgresql+{driver}")
    plain = url.render_as_string(hide_password=False)
    assert asyncio.run(errors_of_many_transactions(plain, pooler="none"))
    assert asyncio.run(errors_of_many_transactions(plain, pooler="transaction")) == Counter()


async def errors_of_many_transactions(url: str, *, pooler: str) -> Counter[str]:
    """400 short transactions, 40 at a time, each running the same statements: errors by
    kind."""
    db = Database(url, pooler=pooler, pool_size=10)
    await db.connect()
    errors: Counter[str] = Counter()
    statement = sa.select(sa.func.count()).select_from(sa.table("users"))

    async def one(i: int) -> None:
        try:
            async with db.transaction() as tx:
                await tx.scalar(statement.where(sa.literal(i) >= 0))
                await tx.scalar(sa.select(sa.literal(i) + 1))
        except Exception as exc:
            errors[type(exc.__cause__ or exc).__name__] += 1

    try:
        for start in range(0, 400, 40):
            await asyncio.gather(*(one(i) for i in range(start, start + 40)))
    finally:
        await db.close()
    return errors
