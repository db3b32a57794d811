"""The one async DB layer both halves share: engine and pool, schema, migrations, queries
by domain, and the loop bridge that sync code reaches it through."""

from shared.database.engine import Database, DatabaseUnavailable

__all__ = ["Database", "DatabaseUnavailable"]
