"""The gateway's shared state in the database: counters, shadow results, rollbacks.

Every worker writes here, so a report or the dashboard sees all workers at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from shared.database.engine import Database
from shared.database.rows import iso, utcnow
from shared.database.schema import gateway_counters, gateway_rollbacks, gateway_shadow_results

COUNTER_NAMES = (
    "requests_legacy",
    "errors_legacy",
    "requests_async",
    "errors_async",
    "shadow_comparisons",
    "shadow_mismatches",
    "shadow_noise",
    "shadow_errors",
    "shadow_skipped",
    "fallbacks",
)


async def add_to_counters(db: Database, increments: Mapping[tuple[str, str], int]) -> None:
    """Add to (route_id, name) counters; rows are created on first use."""
    if not increments:
        return
    now = utcnow()
    async with db.transaction() as tx:
        for (route_id, name), amount in sorted(increments.items()):
            key = (gateway_counters.c.route_id == route_id) & (gateway_counters.c.name == name)
            result = await tx.execute(
                gateway_counters.update()
                .where(key)
                .values(value=gateway_counters.c.value + amount, updated_at=now)
            )
            if not result.rowcount:
                await tx.execute(
                    gateway_counters.insert().values(
                        route_id=route_id, name=name, value=amount, updated_at=now
                    )
                )


async def counters(db: Database) -> dict[str, dict[str, int]]:
    rows = await db.fetch_all(sa.select(gateway_counters))
    by_route: dict[str, dict[str, int]] = {}
    for row in rows:
        by_route.setdefault(row["route_id"], {})[row["name"]] = int(row["value"])
    return by_route


async def record_shadow_results(db: Database, results: list[dict[str, Any]]) -> None:
    if results:
        await db.execute(gateway_shadow_results.insert(), results)


async def shadow_results(
    db: Database, *, limit: int = 50, route_id: str | None = None, kind: str | None = None
) -> list[dict[str, Any]]:
    query = sa.select(gateway_shadow_results)
    if route_id:
        query = query.where(gateway_shadow_results.c.route_id == route_id)
    if kind:
        query = query.where(gateway_shadow_results.c.kind == kind)
    rows = await db.fetch_all(
        query.order_by(
            gateway_shadow_results.c.created_at.desc(), gateway_shadow_results.c.id.desc()
        ).limit(limit)
    )
    return [{**row, "created_at": iso(row["created_at"])} for row in rows]


async def active_rollbacks(db: Database) -> dict[str, dict[str, Any]]:
    rows = await db.fetch_all(
        sa.select(gateway_rollbacks)
        .where(gateway_rollbacks.c.cleared_at.is_(None))
        .order_by(gateway_rollbacks.c.id)
    )
    return {row["route_id"]: {**row, "created_at": iso(row["created_at"])} for row in rows}


async def record_rollback(db: Database, *, route_id: str, reason: str, entry_version: str) -> None:
    async with db.transaction() as tx:
        open_one = await tx.scalar(
            sa.select(gateway_rollbacks.c.id).where(
                gateway_rollbacks.c.route_id == route_id, gateway_rollbacks.c.cleared_at.is_(None)
            )
        )
        if open_one is None:
            await tx.execute(
                gateway_rollbacks.insert().values(
                    route_id=route_id,
                    reason=reason,
                    entry_version=entry_version,
                    created_at=utcnow(),
                )
            )


async def clear_rollbacks(db: Database, *, route_ids: list[str]) -> int:
    """An engineer acted on these routes: their automatic rollbacks end."""
    if not route_ids:
        return 0
    async with db.transaction() as tx:
        result = await tx.execute(
            gateway_rollbacks.update()
            .where(
                gateway_rollbacks.c.route_id.in_(route_ids),
                gateway_rollbacks.c.cleared_at.is_(None),
            )
            .values(cleared_at=utcnow())
        )
        return int(result.rowcount or 0)
