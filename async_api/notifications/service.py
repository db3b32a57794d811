from __future__ import annotations

from typing import Any

from shared.contracts.common import page
from shared.database.engine import Database
from shared.database.queries import notifications as queries
from shared.errors import not_found


async def notifications_of(
    *, db: Database, user_id: int, unread_only: bool, limit: int, offset: int
) -> dict[str, Any]:
    items, total = await queries.notifications_of(
        db, user_id=user_id, unread_only=unread_only, limit=limit, offset=offset
    )
    return page(items, total=total, limit=limit, offset=offset)


async def mark_read(*, db: Database, user_id: int, notification_id: int) -> dict[str, Any]:
    notification = await queries.mark_read(db, user_id=user_id, notification_id=notification_id)
    if notification is None:
        raise not_found("notification")
    return notification
