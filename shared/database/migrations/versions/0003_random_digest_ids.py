"""random digest ids: digests.id and digest_jobs.digest_id become bigint

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# SQLite's INTEGER already holds 64 bits: only PostgreSQL's columns change.
_COLUMNS = (("digest_jobs", "digest_id"), ("digests", "id"))


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column in reversed(_COLUMNS):
        op.alter_column(table, column, type_=sa.BigInteger(), existing_type=sa.Integer())


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    # Refused by PostgreSQL while a random id above 2**31 - 1 is stored: such rows must go first.
    for table, column in _COLUMNS:
        op.alter_column(table, column, type_=sa.Integer(), existing_type=sa.BigInteger())
