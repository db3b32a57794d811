"""the job queue: procrastinate's schema (PostgreSQL only)

Background work (digest jobs, broadcasts, feed ingest) runs on procrastinate, whose
queue lives in its own tables, functions and triggers. Its schema comes from the
installed package (`procrastinate.sql/schema.sql`, 3.x); a later procrastinate release
that changes it ships numbered SQL migrations, applied by a later revision of ours.
SQLite has no queue tables: there the same tasks run in-process (see shared/jobs).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-09 10:00:00.000000
"""

from __future__ import annotations

from alembic import op
from procrastinate.schema import SchemaManager
from sqlalchemy.util import await_only

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _execute_script(sql: str) -> None:
    """Run a multi-statement script on the driver's own connection (SQLAlchemy would
    prepare it as one statement); asyncpg and psycopg both take a script without params."""
    driver = op.get_bind().connection.driver_connection
    await_only(driver.execute(sql))  # type: ignore[union-attr]


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    _execute_script(SchemaManager.get_schema())


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    _execute_script(
        """
        DO $$
        DECLARE item record;
        BEGIN
            FOR item IN SELECT p.oid::regprocedure AS signature FROM pg_proc p
                JOIN pg_namespace n ON n.oid = p.pronamespace
                WHERE n.nspname = current_schema() AND p.proname LIKE 'procrastinate\\_%'
            LOOP
                EXECUTE 'DROP FUNCTION IF EXISTS ' || item.signature || ' CASCADE';
            END LOOP;
        END $$;
        DROP TABLE IF EXISTS procrastinate_events, procrastinate_periodic_defers,
            procrastinate_jobs, procrastinate_workers CASCADE;
        DROP TYPE IF EXISTS procrastinate_job_to_defer_v1, procrastinate_job_event_type,
            procrastinate_job_status CASCADE;
        """
    )
