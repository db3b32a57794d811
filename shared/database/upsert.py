"""INSERT … ON CONFLICT in the backend's dialect: how a write stays one atomic statement
when two requests make it at once (a look-then-insert lets both insert, and one fails)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from shared.database.engine import Database

Insert = postgresql.Insert | sqlite.Insert


def insert(db: Database, table: sa.Table) -> Insert:
    """`table.insert()` that also offers `on_conflict_do_nothing` / `on_conflict_do_update`."""
    dialect = postgresql if db.backend == "postgresql" else sqlite
    return dialect.insert(table)
