"""broadcasts: a row per admin broadcast and per recipient, and the shared send budget

A broadcast's messages are sent by one job each (shared/broadcast.py); the recipient
row says whether its message was sent, failed (and why) or is still pending, so a job
run twice never sends twice. `broadcast_send_slots` counts the messages started in each
second, across every worker, to keep under Telegram's rate.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 12:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_DIGEST_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "broadcasts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=True),
        sa.Column("digest_id", _DIGEST_ID, nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["digest_id"],
            ["digests.id"],
            name=op.f("fk_broadcasts_digest_id_digests"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_broadcasts")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "broadcast_recipients",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("broadcast_id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["broadcast_id"],
            ["broadcasts.id"],
            name=op.f("fk_broadcast_recipients_broadcast_id_broadcasts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_broadcast_recipients")),
        sa.UniqueConstraint("broadcast_id", "chat_id", name="uq_broadcast_recipients_broadcast_id"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "broadcast_send_slots",
        sa.Column("second", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("used", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("second", name=op.f("pk_broadcast_send_slots")),
    )


def downgrade() -> None:
    op.drop_table("broadcast_send_slots")
    op.drop_table("broadcast_recipients")
    op.drop_table("broadcasts")
