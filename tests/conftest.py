"""Fixtures: real databases (SQLite and PostgreSQL) and the real gateway over HTTP.

Every endpoint test runs four ways: {sqlite, postgresql} x {legacy, async}. The
`client` fixture asserts that every routed response came from the half under test.
Under CI=true a missing PostgreSQL fails the run instead of skipping.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.database.engine import Database
from shared.database.migrate import apply_migrations, demo_anchor
from shared.database.scratch import create_scratch_database, drop_scratch_database
from shared.settings import Settings
from tests.support.gateway_server import GatewayServer

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() == "true"
BACKENDS = [b for b in os.environ.get("TEST_DATABASES", "sqlite,postgresql").split(",") if b]
POSTGRES_URL = os.environ.get(
    "TEST_POSTGRES_URL",
    "postgresql://postgres@127.0.0.1:5432/test",  # the plain form
)
SQLITE_BASE_URL = "sqlite+aiosqlite:///unused.db"
ADMIN_TOKEN = "test-admin-token-0123456789"
WEBHOOK_SECRET = "test-webhook-secret"
ANCHOR = demo_anchor()


async def _postgres_answers() -> bool:
    db = Database(POSTGRES_URL)
    try:
        await db.connect()
        await asyncio.wait_for(db.ping(), 5)
        return True
    except Exception:
        return False
    finally:
        await db.close()


async def _migrated_scratch(base_url: str, label: str) -> str:
    url = await create_scratch_database(base_url, label=label)
    db = Database(url)
    await db.connect()
    try:
        await apply_migrations(db)
    finally:
        await db.close()
    return url


def base_url_for(backend: str) -> str:
    if backend == "sqlite":
        return SQLITE_BASE_URL
    if not asyncio.run(_postgres_answers()):
        message = f"PostgreSQL does not answer at {POSTGRES_URL}"
        if IN_CI:
            pytest.fail(message + " (required under CI=true)", pytrace=False)
        pytest.skip(message)
    return POSTGRES_URL


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request: pytest.FixtureRequest) -> Iterator[str]:
    base = base_url_for(request.param)
    url = asyncio.run(_migrated_scratch(base, "tests"))
    yield url
    asyncio.run(drop_scratch_database(url, base_url=base))


def make_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "migration_manifest": str(ROOT / "migration_status.yaml"),
        "admin_token": ADMIN_TOKEN,
        "telegram_bot_token": None,
        "telegram_webhook_secret": WEBHOOK_SECRET,
        "openai_api_key": None,
        "openai_base_url": None,
        "db_simulated_latency_ms": 0,
        "demo_data": False,
        # Tests send many wrong tokens from 127.0.0.1 to long-lived gateways: the brute-force
        # guard counts per gateway and never trips here (tests/api/test_brute_force.py sets
        # a low limit and Redis).
        "rate_limit_storage_url": "memory://",
        "auth_failure_limit": "1000000/minute",
        # Gateways of one session share a scratch database, so each gets a job queue of its
        # own: a worker never runs another gateway's job with its own stubs.
        "jobs_queue": f"tests-{uuid.uuid4().hex[:8]}",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


@pytest.fixture(scope="module", params=BACKENDS)
def private_database_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A database of the module's own: for tests whose gateway-wide state (rollbacks,
    operator decisions) must not meet the session's other gateways, which run other
    manifests and would see a changed entry."""
    base = base_url_for(request.param)
    url = asyncio.run(_migrated_scratch(base, "private"))
    yield url
    asyncio.run(drop_scratch_database(url, base_url=base))


@pytest.fixture(scope="session", params=["legacy", "async"])
def half(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="session")
def gateway(database_url: str, half: str) -> Iterator[GatewayServer]:
    with GatewayServer(make_settings(database_url), force_status=half) as server:
        yield server


def served_by_check(half: str) -> Callable[[httpx.Response], None]:
    def check(response: httpx.Response) -> None:
        if "x-route-id" in response.headers:
            served = response.headers.get("x-served-by")
            assert served == half, f"{response.request.url} was served by {served}, not {half}"

    return check


def http_client(server: GatewayServer, half: str | None) -> httpx.Client:
    hooks = {"response": [served_by_check(half)]} if half else {}
    return httpx.Client(base_url=server.url, timeout=60, event_hooks=hooks)


@pytest.fixture
def client(gateway: GatewayServer, half: str) -> Iterator[httpx.Client]:
    """An HTTP client on the shared gateway, over freshly reset demo data."""
    gateway.reset_data(anchor=ANCHOR)
    with http_client(gateway, half) as http:
        yield http


@pytest.fixture
def start_gateway(
    database_url: str, half: str
) -> Iterator[Callable[..., tuple[GatewayServer, httpx.Client]]]:
    """Start a gateway of one's own with other settings (bot token, AI stub, …)."""
    started: list[tuple[GatewayServer, httpx.Client]] = []

    def start(**overrides: Any) -> tuple[GatewayServer, httpx.Client]:
        force = overrides.pop("force_status", half)
        server = GatewayServer(make_settings(database_url, **overrides), force_status=force)
        server.start()
        server.reset_data(anchor=ANCHOR)
        http = http_client(server, force)
        started.append((server, http))
        return server, http

    yield start
    for server, http in started:
        http.close()
        server.stop()
