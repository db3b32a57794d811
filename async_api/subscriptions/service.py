from __future__ import annotations

from typing import Any

from shared.categories import CATEGORIES
from shared.database.engine import Database
from shared.database.queries import subscriptions as queries
from shared.errors import not_found


async def subscriptions_of(*, db: Database, user_id: int) -> dict[str, Any]:
    items = await queries.list_subscriptions(db, user_id=user_id)
    subscribed = {item["category"] for item in items}
    return {
        "user_id": user_id,
        "subscriptions": items,
        "categories": [{"name": name, "subscribed": name in subscribed} for name in CATEGORIES],
    }


async def change_subscription(
    *, db: Database, user_id: int, category: str, subscribe: bool
) -> None:
    if subscribe:
        await queries.subscribe(db, user_id=user_id, category=category)
    else:
        await queries.unsubscribe(db, user_id=user_id, category=category)


async def remove_subscription(*, db: Database, user_id: int, category: str) -> None:
    if not await queries.unsubscribe(db, user_id=user_id, category=category):
        raise not_found("subscription")
