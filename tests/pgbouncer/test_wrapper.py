"""`python -m tests.support.pgbouncer -- COMMAND`: how the Makefile runs the parity suite
through a transaction pooler."""

from __future__ import annotations

import subprocess
import sys

from sqlalchemy.engine import make_url

from tests.conftest import POSTGRES_URL, ROOT
from tests.support.pgbouncer import PrivatePgBouncer


def wrapped(*command: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "tests.support.pgbouncer", "--", *command]
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_the_command_gets_the_pooled_url_and_transaction_mode(pgbouncer: PrivatePgBouncer) -> None:
    script = (
        "import os, sys\n"
        "from shared.database.engine import Database\n"
        "db = Database(os.environ['DATABASE_URL'])\n"
        "print(sys.argv[1] == os.environ['PGBOUNCER_URL'] == os.environ['DATABASE_URL'])\n"
        "print(db.pooler, db.target.connect_args['statement_cache_size'])\n"
    )
    done = wrapped(sys.executable, "-c", script, "{url}")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:2] == ["True", "transaction 0"]
    assert "pgbouncer (transaction mode) at postgresql://postgres@127.0.0.1:" in done.stderr


def test_the_command_answers_through_the_pooler_and_its_exit_status_is_kept(
    pgbouncer: PrivatePgBouncer,
) -> None:
    script = (
        "import asyncio, os\n"
        "import sqlalchemy as sa\n"
        "from shared.database.engine import Database\n"
        "async def main():\n"
        "    db = Database(os.environ['DATABASE_URL'])\n"
        "    await db.connect()\n"
        "    try:\n"
        "        print(await db.scalar(sa.text('SHOW port')))\n"
        "    finally:\n"
        "        await db.close()\n"
        "asyncio.run(main())\n"
        "raise SystemExit(3)\n"
    )
    done = wrapped(sys.executable, "-c", script)
    assert done.returncode == 3, done.stderr
    # The server behind the pooler answered, not the pooler (SHOW is not PgBouncer's).
    assert done.stdout.strip() == str(make_url(POSTGRES_URL).port or 5432)
