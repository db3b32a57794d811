"""Feed source queries."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from shared.database.engine import Database
from shared.database.schema import sources


async def enabled_sources(db: Database) -> list[dict[str, Any]]:
    """Enabled sources as the public catalogue shows them, in id order."""
    return await db.fetch_all(
        sa.select(sources.c.id, sources.c.name, sources.c.category)
        .where(sources.c.enabled)
        .order_by(sources.c.id)
    )


async def source_id_by_name(db: Database, *, name: str) -> int | None:
    """The id of the source with exactly this name, enabled or not."""
    return await db.scalar(sa.select(sources.c.id).where(sources.c.name == name))
