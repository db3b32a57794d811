"""Admin work for the async half: concurrent where the legacy half goes one by one."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from shared.ai import DigestWriter
from shared.broadcast import (
    broadcast_result,
    plan_broadcast,
    record_broadcast,
    require_bot_token,
    send_message,
    send_message_url,
)
from shared.contracts.common import page
from shared.database.engine import Database
from shared.database.queries import admin as queries
from shared.database.queries.audit import audit_entries
from shared.errors import not_found
from shared.feeds import FeedPull, fetch_result, ingest_summary, pull_feed, store_pull
from shared.settings import Settings


async def stats(*, db: Database) -> dict[str, int]:
    return await queries.admin_counts(db)


async def users_page(*, db: Database, q: str | None, limit: int, offset: int) -> dict[str, Any]:
    items, total = await queries.search_users(db, q=q, limit=limit, offset=offset)
    return page(items, total=total, limit=limit, offset=offset)


async def user_detail(*, db: Database, user_id: int) -> dict[str, Any]:
    user = await queries.user_detail(db, user_id=user_id)
    if user is None:
        raise not_found("user")
    return user


async def set_blocked(
    *, db: Database, actor: str, user_id: int, blocked: bool, reason: str | None
) -> dict[str, Any]:
    return await queries.set_user_blocked(
        db, actor=actor, user_id=user_id, blocked=blocked, reason=reason
    )


async def fetch_source(
    *, db: Database, http: httpx.AsyncClient, settings: Settings, actor: str, source_id: int
) -> dict[str, Any]:
    source = await queries.source_by_id(db, source_id=source_id)
    if source is None:
        raise not_found("source")
    pull = await pull_feed(http, source, settings)
    return fetch_result(await store_pull(db, pull=pull, actor=actor, trigger="fetch"))


async def ingest(
    *, db: Database, http: httpx.AsyncClient, settings: Settings, actor: str
) -> dict[str, Any]:
    """Every enabled source's feed fetched concurrently, `ingest_concurrency` at a time."""
    limit = asyncio.Semaphore(max(1, settings.ingest_concurrency))

    async def pull(source: dict[str, Any]) -> FeedPull:
        async with limit:
            return await pull_feed(http, source, settings)

    sources = await queries.enabled_sources(db)
    pulls = await asyncio.gather(*(pull(source) for source in sources))
    # Stored one after another by source id, as the legacy half does: whichever half
    # ingests, the same news ids and the same audit rows in the same order.
    results = [await store_pull(db, pull=p, actor=actor, trigger="ingest") for p in pulls]
    return ingest_summary(results)


async def audit_page(*, db: Database, limit: int, offset: int) -> dict[str, Any]:
    items, total = await audit_entries(db, limit=limit, offset=offset)
    return page(items, total=total, limit=limit, offset=offset)


async def broadcast(
    *,
    db: Database,
    writer: DigestWriter,
    http: httpx.AsyncClient,
    settings: Settings,
    actor: str,
    category: str | None,
    dry_run: bool,
) -> dict[str, Any]:
    require_bot_token(settings, dry_run=dry_run)
    plan = await plan_broadcast(db=db, writer=writer, category=category, dry_run=dry_run)
    failures: list[str | None] = []
    if not dry_run and plan.chat_ids:
        url = send_message_url(settings)
        limit = asyncio.Semaphore(max(1, settings.broadcast_concurrency))

        async def send(chat_id: int) -> str | None:
            async with limit:
                return await send_message(
                    http,
                    url=url,
                    chat_id=chat_id,
                    text=plan.text,
                    time_limit=settings.telegram_timeout_seconds,
                )

        failures = list(await asyncio.gather(*(send(chat_id) for chat_id in plan.chat_ids)))
    result = broadcast_result(plan, failures=failures, dry_run=dry_run)
    if not dry_run:
        await record_broadcast(db, actor=actor, category=category, result=result)
    return result
