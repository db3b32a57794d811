"""Which database errors are an outage (503 with Retry-After) and which are bugs (500),
on errors the real drivers raise."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from shared.database.engine import (
    BUSY_RETRY_AFTER_SECONDS,
    DOWN_RETRY_AFTER_SECONDS,
    Database,
    DatabaseUnavailable,
    unavailable_from,
)


def _raised_by(engine: sa.Engine, statement: str) -> SQLAlchemyError:
    with pytest.raises(SQLAlchemyError) as raised, engine.begin() as conn:
        conn.execute(sa.text(statement))
    return raised.value


@pytest.fixture
def sqlite_file(tmp_path: Path) -> Path:
    path = tmp_path / "faults.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE items (id INTEGER PRIMARY KEY)")
    return path


def test_a_locked_sqlite_database_is_busy_not_a_bug(sqlite_file: Path) -> None:
    writer = sqlite3.connect(sqlite_file)
    writer.execute("BEGIN IMMEDIATE")
    try:
        engine = sa.create_engine(f"sqlite:///{sqlite_file}", connect_args={"timeout": 0})
        error = _raised_by(engine, "INSERT INTO items (id) VALUES (1)")
    finally:
        writer.rollback()
        writer.close()
    unavailable = unavailable_from(error)
    assert unavailable is not None and unavailable.status == 503
    assert unavailable.retry_after == BUSY_RETRY_AFTER_SECONDS


def test_an_exhausted_pool_is_busy(sqlite_file: Path) -> None:
    engine = sa.create_engine(
        f"sqlite:///{sqlite_file}", pool_size=1, max_overflow=0, pool_timeout=0.01
    )
    with engine.connect(), pytest.raises(SQLAlchemyError) as raised, engine.connect():
        pass
    unavailable = unavailable_from(raised.value)
    assert unavailable is not None and unavailable.retry_after == BUSY_RETRY_AFTER_SECONDS


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT * FROM no_such_table",
        "SELECT no_such_column FROM items",
        "SELEC 1",
        "INSERT INTO items (id) VALUES (1), (1)",  # a constraint: the caller's problem
    ],
)
def test_schema_and_query_mistakes_stay_500s(sqlite_file: Path, statement: str) -> None:
    engine = sa.create_engine(f"sqlite:///{sqlite_file}")
    assert unavailable_from(_raised_by(engine, statement)) is None


def test_a_refused_postgresql_connection_is_down() -> None:
    async def query() -> None:
        db = Database("postgresql://postgres@127.0.0.1:1/nothing")  # nothing listens there
        await db.connect()
        try:
            await db.fetch_one(sa.select(1))
        finally:
            await db.close()

    with pytest.raises(DatabaseUnavailable) as raised:
        asyncio.run(query())
    assert raised.value.headers() == {"Retry-After": str(DOWN_RETRY_AFTER_SECONDS)}
