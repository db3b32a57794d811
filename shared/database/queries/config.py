"""App config (`app_config`) queries."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from shared.database.engine import Database
from shared.database.queries.audit import record_audit
from shared.database.rows import utcnow
from shared.database.schema import app_config


async def all_config(db: Database) -> dict[str, Any]:
    """Every key and its value (the table is small: a few settings)."""
    rows = await db.fetch_all(
        sa.select(app_config.c.key, app_config.c.value).order_by(app_config.c.key)
    )
    return {row["key"]: row["value"] for row in rows}


async def put_config(db: Database, *, key: str, value: Any, actor: str) -> bool:
    """Create or replace `key`, audit-logged in the same transaction; True if created."""
    insert = postgresql_insert if db.backend == "postgresql" else sqlite_insert
    now = utcnow()
    async with db.transaction() as tx:
        previous = await tx.fetch_one(sa.select(app_config.c.value).where(app_config.c.key == key))
        # An upsert, so two concurrent first writes of a key cannot collide on the key.
        statement = insert(app_config).values(key=key, value=value, updated_at=now)
        await tx.execute(
            statement.on_conflict_do_update(
                index_elements=[app_config.c.key],
                set_={"value": statement.excluded.value, "updated_at": now},
            )
        )
        details = {
            "value": value,
            "previous": previous["value"] if previous else None,
            "created": previous is None,
        }
        await record_audit(
            tx, actor=actor, action="config.update", target=f"app_config:{key}", details=details
        )
    return previous is None
