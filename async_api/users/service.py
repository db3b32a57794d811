from __future__ import annotations

from typing import Any

from shared.database.engine import Database
from shared.database.queries import preferences as preference_queries
from shared.database.queries import users as queries
from shared.users import register_user


async def get_or_create(
    *, db: Database, telegram_id: int, username: str | None, language: str | None
) -> tuple[dict[str, Any], bool]:
    row, created = await register_user(
        db, telegram_id=telegram_id, username=username, language=language
    )
    return queries.user_item(row), created


async def profile(*, db: Database, user: dict[str, Any]) -> dict[str, Any]:
    counts = await queries.activity_counts(db, user_id=user["id"])
    return {**queries.user_item(user), **counts}


async def preferences_of(*, db: Database, user: dict[str, Any]) -> dict[str, Any]:
    return await preference_queries.preferences_of(db, user=user)


async def update_preferences(
    *, db: Database, user: dict[str, Any], changes: dict[str, Any]
) -> dict[str, Any]:
    return await preference_queries.update_preferences(db, user=user, changes=changes)
