"""A private PostgreSQL for the fault suite: the tests stop and start it under load."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from shared.database.engine import Database
from shared.database.migrate import apply_migrations, load_demo
from tests.conftest import ANCHOR, IN_CI
from tests.support.private_postgres import PrivatePostgres, postgres_bin_dir


async def _migrate_with_demo_data(url: str) -> None:
    db = Database(url)
    await db.connect()
    try:
        await apply_migrations(db)
        await load_demo(db, now=ANCHOR)
    finally:
        await db.close()


@pytest.fixture(scope="session")
def private_postgres() -> Iterator[PrivatePostgres]:
    """Running, migrated, with the demo data; a test that stops it starts it again."""
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        message = "initdb and pg_ctl were not found (install PostgreSQL or set PG_BIN)"
        if IN_CI:
            pytest.fail(message + " (required under CI=true)", pytrace=False)
        pytest.skip(message)
    with PrivatePostgres(bin_dir) as postgres:
        asyncio.run(_migrate_with_demo_data(postgres.url))
        yield postgres
