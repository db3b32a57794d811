from __future__ import annotations

from typing import Any

from shared.database.engine import Database
from shared.database.queries.news import latest_news as select_latest_news


async def latest_news(*, db: Database, category: str | None, limit: int) -> list[dict[str, Any]]:
    return await select_latest_news(db, categories=[category] if category else None, limit=limit)
