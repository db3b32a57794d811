"""Admin work for the async half: concurrent where the legacy half goes one by one."""

from __future__ import annotations

from typing import Any

import httpx

from shared.ai import DigestWriter
from shared.broadcast import (
    broadcast_result,
    plan_broadcast,
    require_bot_token,
    start_broadcast,
)
from shared.contracts.common import page
from shared.database.engine import Database
from shared.database.queries import admin as queries
from shared.database.queries.audit import audit_entries
from shared.database.queries.broadcasts import broadcast_by_id
from shared.errors import not_found
from shared.feeds import fetch_result, pull_feed, store_pull
from shared.ingest import no_run, request_ingest, run_progress, wait_for_run
from shared.jobs.queue import JobQueue
from shared.runtime import Runtime
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


async def ingest(*, rt: Runtime, actor: str) -> dict[str, Any]:
    """Ask for an ingest run (or join the one queued or running) and wait for it: its
    progress once done or failed, or after INGEST_WAIT_SECONDS."""
    run = await request_ingest(db=rt.db, jobs=rt.jobs, actor=actor, trigger="admin")
    return await wait_for_run(rt.db, run=run, seconds=rt.settings.ingest_wait_seconds)


async def ingest_progress(*, db: Database) -> dict[str, Any]:
    progress = await run_progress(db)
    if progress is None:
        raise no_run()
    return progress


async def audit_page(*, db: Database, limit: int, offset: int) -> dict[str, Any]:
    items, total = await audit_entries(db, limit=limit, offset=offset)
    return page(items, total=total, limit=limit, offset=offset)


async def broadcast(
    *,
    db: Database,
    writer: DigestWriter,
    jobs: JobQueue,
    settings: Settings,
    actor: str,
    category: str | None,
    dry_run: bool,
) -> dict[str, Any]:
    """Recorded with a job per message (sent by workers); a dry run only previews."""
    require_bot_token(settings, dry_run=dry_run)
    plan = await plan_broadcast(db=db, writer=writer, category=category, dry_run=dry_run)
    if dry_run:
        return broadcast_result(plan, broadcast_id=None)
    return await start_broadcast(db=db, jobs=jobs, plan=plan, actor=actor, category=category)


async def broadcast_status(*, db: Database, broadcast_id: int) -> dict[str, Any]:
    found = await broadcast_by_id(db, broadcast_id=broadcast_id)
    if found is None:
        raise not_found("broadcast")
    return found
