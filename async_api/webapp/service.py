"""The WebApp's pages and endpoints, as keyword-only coroutines that never see HTTP."""

from __future__ import annotations

from typing import Any

from shared.contracts.common import page
from shared.database.engine import Database
from shared.database.queries.news import latest_news
from shared.database.queries.users import user_item
from shared.database.queries.webapp import subscribed_news, upcoming_events
from shared.database.rows import utcnow
from shared.rate_limit import Client, FailedAuthGuard
from shared.web import webapp as pages
from shared.webapp_auth import sign_in


async def news_page(*, db: Database, category: str | None) -> str:
    categories = [category] if category else None
    items = await latest_news(db, categories=categories, limit=pages.NEWS_PAGE_SIZE)
    return pages.news_page(items=items, category=category)


async def events_page(*, db: Database, category: str | None) -> str:
    events = await upcoming_events(
        db, now=utcnow(), category=category, limit=pages.EVENTS_PAGE_SIZE
    )
    return pages.events_page(events=events, category=category)


async def authenticate(
    *,
    db: Database,
    init_data: str,
    bot_token: str | None,
    guard: FailedAuthGuard,
    client: Client,
) -> dict[str, Any]:
    user = await sign_in(db, init_data=init_data, bot_token=bot_token, guard=guard, client=client)
    return {"user": user_item(user)}


async def feed(*, db: Database, user_id: int, limit: int, offset: int) -> dict[str, Any]:
    items, total = await subscribed_news(db, user_id=user_id, limit=limit, offset=offset)
    return page(items, total=total, limit=limit, offset=offset)
