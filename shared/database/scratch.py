"""Throwaway databases, for tests and parity runs: a fresh one per use, same backend."""

from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from shared.database.engine import normalize_url


async def create_scratch_database(base_url: str, *, label: str) -> str:
    """A new empty database next to `base_url`'s; returns its URL."""
    url = make_url(normalize_url(base_url))
    name = f"scratch_{label}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    if url.get_backend_name() == "sqlite":
        directory = Path(tempfile.mkdtemp(prefix="newsdigest-"))
        return str(url.set(database=str(directory / f"{name}.db")))
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    finally:
        await engine.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


async def drop_scratch_database(scratch_url: str, *, base_url: str) -> None:
    url = make_url(scratch_url)
    if url.get_backend_name() == "sqlite":
        _remove_sqlite_files(Path(url.database or ""))
        return
    engine = create_async_engine(make_url(normalize_url(base_url)), isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
    finally:
        await engine.dispose()


def _remove_sqlite_files(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    try:
        path.parent.rmdir()
    except OSError:
        pass
