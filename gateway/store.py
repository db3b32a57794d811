"""The gateway's shared state in the database: shadow counts and results, rollbacks.

Every worker of every instance writes here, so a report or the dashboard sees them all at
once. Request and error counts are not here: each host's `/metrics` covers its workers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from shared.database.engine import Database
from shared.database.rows import iso, utcnow
from shared.database.schema import (
    gateway_canaries,
    gateway_canary_samples,
    gateway_counters,
    gateway_decisions,
    gateway_overrides,
    gateway_rollbacks,
    gateway_shadow_results,
)
from shared.database.upsert import insert

# Shadow figures are the evidence for flipping a route: every instance adds to them here,
# beside the mismatches themselves.
SHADOW_COUNTERS = (
    "shadow_comparisons",
    "shadow_mismatches",
    "shadow_noise",
    "shadow_errors",
    "shadow_skipped",
)


async def add_to_counters(db: Database, increments: Mapping[tuple[str, str], int]) -> None:
    """Add to (route_id, name) shadow counters; rows are created on first use."""
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
    """Shadow counts by route (rows of request counts from older versions are ignored)."""
    rows = await db.fetch_all(
        sa.select(gateway_counters).where(gateway_counters.c.name.in_(SHADOW_COUNTERS))
    )
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


# -- operator overrides (flip, pin) and the history of decisions ---------------------------


async def active_overrides(db: Database) -> list[dict[str, Any]]:
    return await db.fetch_all(sa.select(gateway_overrides).order_by(gateway_overrides.c.route_id))


async def set_override(
    db: Database,
    *,
    route_id: str,
    kind: str,
    status: str,
    actor: str,
    reason: str,
    percent: int | None = None,
    canary: dict[str, Any] | None = None,
    base_version: str | None = None,
    entry_version: str | None = None,
) -> None:
    """Record a flip or a pin (replacing the route's previous one of that kind), end the
    route's automatic rollback (an engineer decided), and add the decision to the history."""
    now = utcnow()
    values = {
        "status": status,
        "percent": percent,
        "canary": canary,
        "base_version": base_version,
        "entry_version": entry_version,
        "actor": actor,
        "reason": reason,
        "created_at": now,
    }
    async with db.transaction() as tx:
        await tx.execute(
            insert(db, gateway_overrides)
            .values(route_id=route_id, kind=kind, **values)
            .on_conflict_do_update(index_elements=["route_id", "kind"], set_=values)
        )
        await tx.execute(
            gateway_rollbacks.update()
            .where(
                gateway_rollbacks.c.route_id == route_id, gateway_rollbacks.c.cleared_at.is_(None)
            )
            .values(cleared_at=now)
        )
        await tx.execute(
            gateway_decisions.insert().values(
                route_id=route_id,
                kind=kind,
                status=status,
                percent=percent,
                actor=actor,
                reason=reason,
                figures={"canary": canary} if canary else None,
                created_at=now,
            )
        )


async def remove_override(
    db: Database, *, route_id: str, kind: str, actor: str, reason: str
) -> bool:
    async with db.transaction() as tx:
        result = await tx.execute(
            gateway_overrides.delete().where(
                gateway_overrides.c.route_id == route_id, gateway_overrides.c.kind == kind
            )
        )
        if not result.rowcount:
            return False
        await tx.execute(
            gateway_decisions.insert().values(
                route_id=route_id, kind=f"un{kind}", actor=actor, reason=reason, created_at=utcnow()
            )
        )
        return True


async def record_decision(db: Database, **values: Any) -> None:
    await db.execute(gateway_decisions.insert().values(created_at=utcnow(), **values))


async def decisions(
    db: Database, *, limit: int = 20, route_id: str | None = None
) -> list[dict[str, Any]]:
    query = sa.select(gateway_decisions)
    if route_id:
        query = query.where(gateway_decisions.c.route_id == route_id)
    rows = await db.fetch_all(
        query.order_by(gateway_decisions.c.created_at.desc(), gateway_decisions.c.id.desc()).limit(
            limit
        )
    )
    return [{**row, "created_at": iso(row["created_at"])} for row in rows]


# -- progressive canaries ----------------------------------------------------------------


async def canary_runs(db: Database, *, route_ids: list[str]) -> list[dict[str, Any]]:
    if not route_ids:
        return []
    return await db.fetch_all(
        sa.select(gateway_canaries).where(gateway_canaries.c.route_id.in_(route_ids))
    )


async def latest_canary_runs(db: Database) -> dict[str, dict[str, Any]]:
    """The newest run of every route that has had one (for the CLI)."""
    rows = await db.fetch_all(sa.select(gateway_canaries).order_by(gateway_canaries.c.id))
    return {row["route_id"]: row for row in rows}


async def start_canary(
    db: Database, *, route_id: str, plan: str, steps: list[int], actor: str
) -> bool:
    """Create the run of `plan` unless another instance just did; True for the one that did."""
    now = utcnow()
    async with db.transaction() as tx:
        result = await tx.execute(
            insert(db, gateway_canaries)
            .values(
                route_id=route_id,
                plan=plan,
                steps=steps,
                step_index=0,
                state="running",
                started_at=now,
                step_started_at=now,
            )
            .on_conflict_do_nothing(index_elements=["route_id", "plan"])
        )
        if not result.rowcount:
            return False
        await tx.execute(
            gateway_decisions.insert().values(
                route_id=route_id,
                kind="canary_start",
                status="canary",
                percent=steps[0],
                actor=actor,
                reason=f"progressive canary {' → '.join(map(str, steps))}% started",
                created_at=now,
            )
        )
        return True


async def decide_canary(
    db: Database,
    *,
    run: Mapping[str, Any],
    step_index: int,
    state: str,
    kind: str,
    status: str,
    percent: int | None,
    actor: str,
    reason: str,
    figures: dict[str, Any] | None,
) -> bool:
    """Move the run from the step it is on (as `run` saw it) to the next step or its end.
    A conditional UPDATE: when several instances judge the same step at once, exactly one
    changes the row and records the decision; the others get False."""
    now = utcnow()
    async with db.transaction() as tx:
        result = await tx.execute(
            gateway_canaries.update()
            .where(
                gateway_canaries.c.id == run["id"],
                gateway_canaries.c.step_index == run["step_index"],
                gateway_canaries.c.state == "running",
            )
            .values(
                step_index=step_index,
                state=state,
                step_started_at=now,
                finished_at=None if state == "running" else now,
            )
        )
        if result.rowcount != 1:
            return False
        await tx.execute(
            gateway_decisions.insert().values(
                route_id=run["route_id"],
                kind=kind,
                status=status,
                percent=percent,
                actor=actor,
                reason=reason,
                figures=figures,
                created_at=now,
            )
        )
        return True


async def save_canary_samples(db: Database, worker: str, samples: list[dict[str, Any]]) -> None:
    """This worker's figures per (run, step, side), as absolute values: a retry after a
    failed write, or the same write twice, leaves the same row."""
    if not samples:
        return
    now = utcnow()
    async with db.transaction() as tx:
        for sample in samples:
            values = {**sample, "worker": worker, "updated_at": now}
            changing = {
                key: values[key]
                for key in (
                    "requests",
                    "failures",
                    "latency_buckets",
                    "comparisons",
                    "mismatches",
                    "updated_at",
                )
            }
            await tx.execute(
                insert(db, gateway_canary_samples)
                .values(**values)
                .on_conflict_do_update(
                    index_elements=["canary_id", "step_index", "worker", "side"], set_=changing
                )
            )


async def canary_samples(db: Database, *, canary_id: int, step_index: int) -> list[dict[str, Any]]:
    return await db.fetch_all(
        sa.select(gateway_canary_samples).where(
            gateway_canary_samples.c.canary_id == canary_id,
            gateway_canary_samples.c.step_index == step_index,
        )
    )
