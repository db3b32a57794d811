"""A private PgBouncer in transaction mode in front of the test PostgreSQL, and a gateway
on each half that reaches its database only through it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from sqlalchemy.engine import make_url

from shared.database.engine import Database
from shared.database.migrate import apply_migrations
from shared.database.scratch import create_scratch_database, drop_scratch_database
from tests.conftest import IN_CI, base_url_for, make_settings
from tests.support.gateway_server import GatewayServer
from tests.support.pgbouncer import PrivatePgBouncer, pgbouncer_path


@pytest.fixture(scope="session")
def pgbouncer() -> Iterator[PrivatePgBouncer]:
    binary = pgbouncer_path()
    if binary is None:
        message = "pgbouncer is not installed (bash scripts/install-pgbouncer.sh)"
        if IN_CI:
            pytest.fail(message + " (required under CI=true)", pytrace=False)
        pytest.skip(message)
    with PrivatePgBouncer(binary, backend_url=base_url_for("postgresql")) as bouncer:
        yield bouncer


@pytest.fixture(scope="session")
def pooled_database(pgbouncer: PrivatePgBouncer) -> Iterator[str]:
    """A migrated scratch database (made directly on the server), by its name."""
    base = base_url_for("postgresql")
    direct = asyncio.run(create_scratch_database(base, label="pgbouncer"))
    try:
        asyncio.run(_migrate(direct))
        yield make_url(direct).database or ""
    finally:
        asyncio.run(drop_scratch_database(direct, base_url=base))


async def _migrate(url: str) -> None:
    db = Database(url, pooler="none")
    await db.connect()
    try:
        await apply_migrations(db)
    finally:
        await db.close()


@pytest.fixture(scope="session")
def pooled_url(pgbouncer: PrivatePgBouncer, pooled_database: str) -> str:
    """The scratch database through PgBouncer. Its port is a random one, so the URL says
    `pgbouncer=true`, as Supabase's transaction-pooler strings for Prisma do."""
    return pgbouncer.url_for(pooled_database) + "?pgbouncer=true"


@pytest.fixture(scope="session")
def pooled_gateway(pooled_url: str, half: str) -> Iterator[GatewayServer]:
    with GatewayServer(make_settings(pooled_url), force_status=half) as server:
        yield server
