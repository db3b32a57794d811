"""A user's digest preferences: one optional row per user, defaults where unset."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from shared.database.engine import Database, Transaction
from shared.database.rows import utcnow
from shared.database.schema import user_preferences
from shared.database.upsert import insert
from shared.digest import DIGEST_DEFAULTS

PREFERENCE_FIELDS = ("style", "tone", "length", "audience", "language", "notify_time", "timezone")
DEFAULT_NOTIFY_TIME = "08:00"
DEFAULT_TIMEZONE = "UTC"


def preferences_item(row: dict[str, Any] | None, *, user: dict[str, Any]) -> dict[str, Any]:
    """Every field, a stored value or its default (language: the user's own)."""
    defaults = {
        **DIGEST_DEFAULTS,
        "language": user["language"],
        "notify_time": DEFAULT_NOTIFY_TIME,
        "timezone": DEFAULT_TIMEZONE,
    }
    stored = row or {}
    return {
        "user_id": user["id"],
        **{name: stored.get(name) or defaults[name] for name in PREFERENCE_FIELDS},
    }


def _select(user_id: int) -> sa.Select:
    return sa.select(user_preferences).where(user_preferences.c.user_id == user_id)


async def preferences_of(db: Database, *, user: dict[str, Any]) -> dict[str, Any]:
    return preferences_item(await db.fetch_one(_select(user["id"])), user=user)


async def update_preferences(
    db: Database, *, user: dict[str, Any], changes: dict[str, Any]
) -> dict[str, Any]:
    """Apply `changes` (a None clears the field) and return every field."""
    if not changes:
        return await preferences_of(db, user=user)
    unknown = set(changes) - set(PREFERENCE_FIELDS)
    if unknown:
        raise ValueError(f"not preference fields: {sorted(unknown)}")
    async with db.transaction() as tx:
        await _upsert(tx, user_id=user["id"], values={**changes, "updated_at": utcnow()})
        row = await tx.fetch_one(_select(user["id"]))
    return preferences_item(row, user=user)


async def _upsert(tx: Transaction, *, user_id: int, values: dict[str, Any]) -> None:
    # One statement, so two first writes for the same user cannot collide.
    statement = insert(tx.db, user_preferences).values(user_id=user_id, **values)
    await tx.execute(
        statement.on_conflict_do_update(index_elements=[user_preferences.c.user_id], set_=values)
    )
