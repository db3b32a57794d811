"""The async database: one SQLAlchemy `AsyncEngine` (and so one pool) per process."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from shared.errors import ApiError

log = logging.getLogger(__name__)

_CONNECTIVITY_ERRORS = (OperationalError, InterfaceError, OSError, ConnectionError)
# SQLite reports schema mistakes as OperationalError too: those are bugs, not an outage.
_NOT_AN_OUTAGE = ("no such table", "no such column", "syntax error")


def _is_outage(exc: Exception) -> bool:
    return not any(marker in str(exc) for marker in _NOT_AN_OUTAGE)


class _Pinned:
    """One connection every query of a task uses, one at a time (see `rolled_back`)."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn
        self.lock = asyncio.Lock()


_pinned: ContextVar[_Pinned | None] = ContextVar("pinned_connection", default=None)


class DatabaseUnavailable(ApiError):
    def __init__(self, detail: str = "database is unavailable") -> None:
        super().__init__("unavailable", detail)


def normalize_url(url: str) -> str:
    """Accept the plain `sqlite://` and `postgresql://` forms (and Supabase's strings)."""
    if url.startswith("sqlite://"):
        url = "sqlite+aiosqlite://" + url[len("sqlite://") :]
    elif url.startswith("postgres://"):
        url = "postgresql+asyncpg://" + url[len("postgres://") :]
    elif url.startswith("postgresql://"):
        url = "postgresql+asyncpg://" + url[len("postgresql://") :]
    # libpq spells it sslmode, asyncpg spells it ssl.
    return url.replace("sslmode=", "ssl=")


def _enable_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")  # readers do not wait for the writer
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _set_sqlite_isolation(sync_conn: Any, level: str | None) -> None:
    sync_conn.connection.dbapi_connection.isolation_level = level


class Database:
    """The shared async DB layer both halves use.

    Legacy Flask code reaches it through `shared.database.bridge.LoopBridge`; the async
    half awaits it directly. Either way every query runs on the loop that opened it.
    """

    def __init__(self, url: str, *, pool_size: int = 10, simulated_latency_ms: int = 0) -> None:
        self.url = normalize_url(url)
        self.pool_size = pool_size
        self.simulated_latency = simulated_latency_ms / 1000
        self._engine: AsyncEngine | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.queries = 0
        self.loops_seen: set[int] = set()
        self.threads_seen: set[int] = set()

    @property
    def backend(self) -> str:
        return "sqlite" if self.url.startswith("sqlite") else "postgresql"

    @property
    def engine(self) -> AsyncEngine:
        if self._engine is None:
            raise RuntimeError("Database.connect() has not been awaited")
        return self._engine

    @property
    def pool(self) -> Any:
        return self.engine.pool

    async def connect(self) -> None:
        if self._engine is not None:
            return
        options: dict[str, Any] = {"pool_pre_ping": False}
        if self.backend == "sqlite":
            database = make_url(self.url).database
            if database and database != ":memory:":
                try:
                    Path(database).parent.mkdir(parents=True, exist_ok=True)
                except OSError as exc:  # start anyway: queries answer 503, health says down
                    log.error("cannot create the folder of %s: %s", database, exc)
            options["connect_args"] = {"timeout": 30}  # wait for a busy writer, not fail
            options["pool_size"] = self.pool_size
        else:
            options["pool_size"] = self.pool_size
            options["max_overflow"] = self.pool_size
            options["pool_timeout"] = 10
        self._engine = create_async_engine(self.url, **options)
        if self.backend == "sqlite":
            event.listen(self._engine.sync_engine, "connect", _enable_sqlite_pragmas)
        self._loop = asyncio.get_running_loop()

    async def close(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None

    async def _before_query(self) -> None:
        self.queries += 1
        self.loops_seen.add(id(asyncio.get_running_loop()))
        self.threads_seen.add(threading.get_ident())
        if self.simulated_latency:
            await asyncio.sleep(self.simulated_latency)

    @asynccontextmanager
    async def rolled_back(self) -> AsyncIterator[None]:
        """Every query of the current task, writes included, in one transaction that is
        rolled back at the end: how shadow traffic runs a write without writing twice."""
        async with self.engine.connect() as conn:
            sqlite = self.backend == "sqlite"
            if sqlite:
                # pysqlite only begins a transaction before DML, and a SAVEPOINT outside one
                # commits on RELEASE: take over BEGIN on this connection while it is pinned.
                await conn.run_sync(_set_sqlite_isolation, None)
            outer = await conn.begin()
            if sqlite:
                await conn.exec_driver_sql("BEGIN")
            token = _pinned.set(_Pinned(conn))
            try:
                yield
            finally:
                _pinned.reset(token)
                await outer.rollback()
                if sqlite:
                    await conn.run_sync(_set_sqlite_isolation, "")

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        """A connection in one transaction: committed on success, rolled back on error."""
        pinned = _pinned.get()
        if pinned is not None:
            async with pinned.lock:
                async with pinned.conn.begin_nested():
                    yield Transaction(self, pinned.conn)
            return
        try:
            async with self.engine.begin() as conn:
                yield Transaction(self, conn)
        except _CONNECTIVITY_ERRORS as exc:
            if not _is_outage(exc):
                raise
            raise DatabaseUnavailable() from exc

    async def fetch_all(self, statement: sa.Executable) -> list[dict[str, Any]]:
        async with self._read() as conn:
            return await Transaction(self, conn).fetch_all(statement)

    async def fetch_one(self, statement: sa.Executable) -> dict[str, Any] | None:
        async with self._read() as conn:
            return await Transaction(self, conn).fetch_one(statement)

    async def scalar(self, statement: sa.Executable) -> Any:
        async with self._read() as conn:
            return await Transaction(self, conn).scalar(statement)

    async def execute(self, statement: sa.Executable, params: Sequence[dict] | None = None) -> Any:
        async with self.transaction() as tx:
            return await tx.execute(statement, params)

    async def ping(self) -> None:
        await self.scalar(sa.select(1))

    @asynccontextmanager
    async def _read(self) -> AsyncIterator[AsyncConnection]:
        pinned = _pinned.get()
        if pinned is not None:
            async with pinned.lock:
                yield pinned.conn
            return
        try:
            async with self.engine.connect() as conn:
                yield conn
        except _CONNECTIVITY_ERRORS as exc:
            if not _is_outage(exc):
                raise
            raise DatabaseUnavailable() from exc
        except DBAPIError as exc:
            if exc.connection_invalidated:
                raise DatabaseUnavailable() from exc
            raise


class Transaction:
    """Query helpers on one connection; rows come back as plain dicts."""

    def __init__(self, db: Database, conn: AsyncConnection) -> None:
        self.db = db
        self.conn = conn

    async def execute(self, statement: sa.Executable, params: Sequence[dict] | None = None) -> Any:
        await self.db._before_query()
        if params is not None:
            return await self.conn.execute(statement, list(params))
        return await self.conn.execute(statement)

    async def fetch_all(self, statement: sa.Executable) -> list[dict[str, Any]]:
        result = await self.execute(statement)
        return [dict(row) for row in result.mappings().all()]

    async def fetch_one(self, statement: sa.Executable) -> dict[str, Any] | None:
        result = await self.execute(statement)
        row = result.mappings().first()
        return dict(row) if row is not None else None

    async def scalar(self, statement: sa.Executable) -> Any:
        result = await self.execute(statement)
        return result.scalar()
