"""Alembic environment. `shared.database.migrate` passes in a live connection; the
`alembic` CLI (see alembic.ini) opens one from DATABASE_URL instead."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from shared.database.schema import metadata

config = context.config


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_from_settings() -> None:
    from shared.database.engine import Database
    from shared.settings import get_settings

    db = Database(get_settings().database_url)
    await db.connect()
    try:
        async with db.engine.begin() as conn:
            await conn.run_sync(_run)
    finally:
        await db.close()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:  # the alembic command line: a one-shot process of its own
    asyncio.run(_run_from_settings())
