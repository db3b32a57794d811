"""Applying the Alembic migrations, resetting and seeding a database."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.database.engine import Database
from shared.database.schema import TABLES, news

MIGRATIONS = Path(__file__).parent / "migrations"


def _upgrade(connection: Connection) -> None:
    # Imported here: the app itself never migrates (`python -m gateway migrate`, and `serve`
    # once before it serves), and alembic would be 50 ms of every worker's start.
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


async def apply_migrations(db: Database) -> None:
    async with db.engine.begin() as conn:
        await conn.run_sync(_upgrade)


def demo_anchor(now: datetime | None = None) -> datetime:
    """The demo data's 'now': the current hour, so two seedings within it are identical."""
    now = now or datetime.now(UTC)
    return now.replace(tzinfo=None, minute=0, second=0, microsecond=0)


async def load_demo(db: Database, *, now: datetime) -> dict[str, int]:
    from shared.database.demo import load_demo_data

    async with db.transaction() as tx:
        counts = await load_demo_data(tx.conn, now=now)
        if db.backend == "postgresql":
            await _reset_sequences(tx.conn)
    return counts


async def seed_demo_if_empty(db: Database, *, now: datetime | None = None) -> dict[str, int] | None:
    if await db.scalar(sa.select(sa.func.count()).select_from(news)):
        return None
    return await load_demo(db, now=demo_anchor(now))


async def wipe(db: Database) -> None:
    """Remove every row and restart the ids (tests and parity runs)."""
    async with db.transaction() as tx:
        if db.backend == "postgresql":
            names = ", ".join(table.name for table in TABLES)
            await tx.conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(TABLES):
                await tx.conn.execute(table.delete())
            await tx.conn.execute(sa.text("DELETE FROM sqlite_sequence"))


async def _reset_sequences(conn: AsyncConnection) -> None:
    for table in TABLES:
        column = table.c.get("id")
        if column is None or not isinstance(column.type, sa.Integer):
            continue
        await conn.execute(
            sa.text(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                f"COALESCE((SELECT MAX(id) FROM {table.name}), 1), "
                f"(SELECT MAX(id) FROM {table.name}) IS NOT NULL)"
            )
        )
