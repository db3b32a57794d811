"""The audit log: every admin write leaves a row."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from shared.database.engine import Database, Transaction
from shared.database.rows import iso, json_object, utcnow
from shared.database.schema import audit_log


async def record_audit(
    tx: Transaction, *, actor: str, action: str, target: str | None, details: dict[str, Any]
) -> None:
    """Inside the write's own transaction, so the log and the change commit together."""
    await tx.execute(
        audit_log.insert().values(
            actor=actor, action=action, target=target, details=details, created_at=utcnow()
        )
    )


def audit_item(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "actor": row["actor"],
        "action": row["action"],
        "target": row["target"],
        "details": json_object(row["details"]),
        "created_at": iso(row["created_at"]),
    }


async def audit_entries(db: Database, *, limit: int, offset: int) -> tuple[list[dict], int]:
    total = await db.scalar(sa.select(sa.func.count()).select_from(audit_log))
    rows = await db.fetch_all(
        sa.select(audit_log)
        .order_by(audit_log.c.created_at.desc(), audit_log.c.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return [audit_item(row) for row in rows], int(total or 0)
