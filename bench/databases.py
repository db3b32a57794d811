"""One freshly migrated and seeded database per backend, and a copy of it per server.

The template is prepared by the project's own `python -m gateway migrate` (DEMO_DATA=true)
on a scratch database (`shared/database/scratch.py`). Every configuration then gets its
own copy of it (a file copy on SQLite, `CREATE DATABASE … TEMPLATE` on PostgreSQL): the
same rows, byte for byte and with the same demo "now", however long the run takes.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from bench.processes import ROOT
from shared.database.engine import normalize_url
from shared.database.scratch import create_scratch_database, drop_scratch_database

SQLITE_BASE_URL = "sqlite+aiosqlite:///unused.db"
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"


class DatabaseSetupFailed(RuntimeError):
    pass


def migrate_and_seed(url: str, *, env: dict[str, str]) -> None:
    """`python -m gateway migrate` with DEMO_DATA=true against `url`."""
    result = subprocess.run(
        [sys.executable, "-m", "gateway", "migrate"],
        cwd=ROOT,
        env={**env, "DATABASE_URL": url, "DEMO_DATA": "true", "DB_SIMULATED_LATENCY_MS": "0"},
        capture_output=True,
        text=True,
        timeout=180,
    )
    if result.returncode != 0:
        raise DatabaseSetupFailed(f"gateway migrate failed:\n{result.stdout}\n{result.stderr}")


async def postgres_answers(url: str) -> str | None:
    """The server's version string, or None when nobody answers at `url`."""
    engine = create_async_engine(normalize_url(url))
    try:
        async with engine.connect() as conn:
            return str(await asyncio.wait_for(conn.scalar(sa.text("SHOW server_version")), 5))
    except Exception:
        return None
    finally:
        await engine.dispose()


@dataclass
class Backend:
    """A seeded template database and the copies handed out from it."""

    name: str  # "sqlite" | "postgresql"
    base_url: str
    template_url: str
    copies: list[str] = field(default_factory=list)

    @classmethod
    def prepare(cls, name: str, *, env: dict[str, str], postgres_url: str) -> Backend:
        base = SQLITE_BASE_URL if name == "sqlite" else postgres_url
        template = asyncio.run(create_scratch_database(base, label="bench_template"))
        backend = cls(name=name, base_url=base, template_url=template)
        try:
            migrate_and_seed(template, env=env)
        except BaseException:
            backend.drop_all()
            raise
        return backend

    def copy(self, label: str) -> str:
        """A database of this server's own, identical to the template."""
        if self.name == "sqlite":
            url = self._sqlite_copy(label)
        else:
            url = asyncio.run(self._postgres_copy(label))
        self.copies.append(url)
        return url

    def _sqlite_copy(self, label: str) -> str:
        source = Path(make_url(self.template_url).database or "")
        target = source.parent / f"{_safe(label)}_{uuid.uuid4().hex[:6]}.db"
        for suffix in ("", "-wal", "-shm"):
            if Path(f"{source}{suffix}").exists():
                shutil.copyfile(f"{source}{suffix}", f"{target}{suffix}")
        return str(make_url(self.template_url).set(database=str(target)))

    async def _postgres_copy(self, label: str) -> str:
        template = make_url(self.template_url)
        name = f"scratch_bench_{_safe(label)}_{os.getpid()}_{uuid.uuid4().hex[:6]}"[:63]
        engine = create_async_engine(
            make_url(normalize_url(self.base_url)), isolation_level="AUTOCOMMIT"
        )
        try:
            async with engine.connect() as conn:
                await conn.execute(
                    sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{template.database}"')
                )
        finally:
            await engine.dispose()
        return template.set(database=name).render_as_string(hide_password=False)

    def drop_copy(self, url: str) -> None:
        if url in self.copies:
            self.copies.remove(url)
        if self.name == "sqlite":
            path = Path(make_url(url).database or "")
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        else:
            asyncio.run(drop_scratch_database(url, base_url=self.base_url))

    def drop_all(self) -> None:
        for url in list(self.copies):
            try:
                self.drop_copy(url)
            except Exception as exc:  # keep dropping the others
                print(f"could not drop {url}: {exc}", file=sys.stderr)
        asyncio.run(drop_scratch_database(self.template_url, base_url=self.base_url))


def _safe(label: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in label.lower())
