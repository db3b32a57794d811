"""gateway overrides, progressive canaries and the decision history

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 12:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gateway_overrides",
        sa.Column("route_id", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("percent", sa.Integer(), nullable=True),
        sa.Column("canary", sa.JSON(), nullable=True),
        sa.Column("base_version", sa.String(length=40), nullable=True),
        sa.Column("entry_version", sa.String(length=40), nullable=True),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("route_id", "kind", name=op.f("pk_gateway_overrides")),
    )
    op.create_table(
        "gateway_canaries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("route_id", sa.String(length=100), nullable=False),
        sa.Column("plan", sa.String(length=64), nullable=False),
        sa.Column("steps", sa.JSON(), nullable=False),
        sa.Column("step_index", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("step_started_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gateway_canaries")),
        sa.UniqueConstraint("route_id", "plan", name="uq_gateway_canaries_route_plan"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "gateway_canary_samples",
        sa.Column("canary_id", sa.Integer(), nullable=False),
        sa.Column("step_index", sa.Integer(), nullable=False),
        sa.Column("worker", sa.String(length=80), nullable=False),
        sa.Column("side", sa.String(length=10), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("latency_buckets", sa.JSON(), nullable=False),
        sa.Column("comparisons", sa.Integer(), nullable=False),
        sa.Column("mismatches", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint(
            "canary_id", "step_index", "worker", "side", name=op.f("pk_gateway_canary_samples")
        ),
    )
    op.create_table(
        "gateway_decisions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("route_id", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=True),
        sa.Column("percent", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gateway_decisions")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("gateway_decisions", schema=None) as batch_op:
        batch_op.create_index("ix_gateway_decisions_created", ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("gateway_decisions", schema=None) as batch_op:
        batch_op.drop_index("ix_gateway_decisions_created")
    op.drop_table("gateway_decisions")
    op.drop_table("gateway_canary_samples")
    op.drop_table("gateway_canaries")
    op.drop_table("gateway_overrides")
