"""Broadcasts: a row per broadcast, a row per recipient (its message's fate), and the
send budget every worker shares."""

from __future__ import annotations

from collections import Counter
from typing import Any, Literal

import sqlalchemy as sa

from shared.database import upsert
from shared.database.engine import Database, Transaction
from shared.database.rows import iso, utcnow
from shared.database.schema import broadcast_recipients, broadcast_send_slots, broadcasts

RecipientStatus = Literal["pending", "sent", "failed"]
SLOTS_KEPT_SECONDS = 60  # older counters are deleted as new seconds are claimed


async def create_broadcast(
    tx: Transaction,
    *,
    actor: str,
    category: str | None,
    digest_id: int | None,
    text: str,
    chat_ids: list[int],
) -> tuple[int, list[int]]:
    """The broadcast and a pending row per recipient, in the transaction that enqueues
    their jobs: `(broadcast_id, recipient ids in chat_ids' order)`."""
    now = utcnow()
    broadcast_id = (
        await tx.execute(
            broadcasts.insert()
            .values(actor=actor, category=category, digest_id=digest_id, text=text, created_at=now)
            .returning(broadcasts.c.id)
        )
    ).scalar_one()
    if chat_ids:
        rows = [
            {
                "broadcast_id": broadcast_id,
                "chat_id": chat_id,
                "status": "pending",
                "updated_at": now,
            }
            for chat_id in chat_ids
        ]
        await tx.execute(broadcast_recipients.insert(), rows)
    ids = await tx.fetch_all(
        sa.select(broadcast_recipients.c.id, broadcast_recipients.c.chat_id).where(
            broadcast_recipients.c.broadcast_id == broadcast_id
        )
    )
    by_chat = {row["chat_id"]: row["id"] for row in ids}
    return broadcast_id, [by_chat[chat_id] for chat_id in chat_ids]


async def pending_message(db: Database, *, recipient_id: int) -> dict[str, Any] | None:
    """`{"chat_id", "text"}` of a message still to send; None once sent or failed."""
    return await db.fetch_one(
        sa.select(broadcast_recipients.c.chat_id, broadcasts.c.text)
        .select_from(
            broadcast_recipients.join(
                broadcasts, broadcasts.c.id == broadcast_recipients.c.broadcast_id
            )
        )
        .where(
            broadcast_recipients.c.id == recipient_id,
            broadcast_recipients.c.status == "pending",
        )
    )


async def finish_message(
    db: Database, *, recipient_id: int, status: RecipientStatus, error: str | None = None
) -> None:
    """Only a pending message changes: a second run never turns `sent` into `failed`."""
    await db.execute(
        broadcast_recipients.update()
        .where(
            broadcast_recipients.c.id == recipient_id,
            broadcast_recipients.c.status == "pending",
        )
        .values(status=status, error=error, updated_at=utcnow())
    )


async def broadcast_by_id(db: Database, *, broadcast_id: int) -> dict[str, Any] | None:
    """The broadcast with its counts: recipients, sent, failed (and why), pending."""
    row = await db.fetch_one(sa.select(broadcasts).where(broadcasts.c.id == broadcast_id))
    if row is None:
        return None
    outcomes = await db.fetch_all(
        sa.select(
            broadcast_recipients.c.status,
            broadcast_recipients.c.error,
            sa.func.count().label("n"),
        )
        .where(broadcast_recipients.c.broadcast_id == broadcast_id)
        .group_by(broadcast_recipients.c.status, broadcast_recipients.c.error)
    )
    counts: Counter[str] = Counter()
    failures: Counter[str] = Counter()
    for outcome in outcomes:
        counts[outcome["status"]] += outcome["n"]
        if outcome["status"] == "failed":
            failures[outcome["error"] or "unknown"] += outcome["n"]
    return {
        "broadcast_id": row["id"],
        "category": row["category"],
        "digest_id": row["digest_id"],
        "recipients": counts.total(),
        "sent": counts["sent"],
        "failed": counts["failed"],
        "pending": counts["pending"],
        "failures": dict(sorted(failures.items())),
        "text": row["text"],
        "created_at": iso(row["created_at"]),
    }


async def claim_send_slot(db: Database, *, second: int, per_second: int) -> bool:
    """One of the `per_second` messages that may start in Unix second `second`, across
    every worker (one atomic upsert); False when that second is full."""
    statement = upsert.insert(db, broadcast_send_slots).values(second=second, used=1)
    claim = statement.on_conflict_do_update(
        index_elements=[broadcast_send_slots.c.second],
        set_={"used": broadcast_send_slots.c.used + 1},
        where=broadcast_send_slots.c.used < per_second,
    ).returning(broadcast_send_slots.c.used)
    async with db.transaction() as tx:
        claimed = await tx.fetch_one(claim)
        if claimed is not None and claimed["used"] == 1:  # the first claim of a second
            await tx.execute(
                broadcast_send_slots.delete().where(
                    broadcast_send_slots.c.second < second - SLOTS_KEPT_SECONDS
                )
            )
    return claimed is not None
