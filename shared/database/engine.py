"""The async database: one SQLAlchemy `AsyncEngine` (and so one pool) per process."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import math
import threading
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.exc import (
    DBAPIError,
    InterfaceError,
    OperationalError,
    PendingRollbackError,
    SQLAlchemyError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool, QueuePool
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.util import greenlet_spawn

from shared.database.url import DatabaseTarget, resolve
from shared.database.url import normalize_url as normalize_url  # where callers import it from
from shared.errors import ApiError
from shared.settings import get_settings

log = logging.getLogger(__name__)

# `Retry-After` of a 503: a full pool or a locked SQLite clears quickly, a restart takes longer.
BUSY_RETRY_AFTER_SECONDS = 1
DOWN_RETRY_AFTER_SECONDS = 5
# What a request may raise when the database, not the query, is the problem.
_LIFECYCLE_ERRORS = (SQLAlchemyError, OSError, ConnectionError)
# SQLite reports schema mistakes as OperationalError too: those are bugs, not an outage.
_NOT_AN_OUTAGE = ("no such table", "no such column", "has no column", "syntax error")
_SQLITE_BUSY = ("database is locked", "database table is locked")
# SQLSTATEs of a server that cannot serve right now: connection exceptions (08), too many
# connections or out of resources (53), shutting down or starting up (57P), and
# contention a retry resolves (deadlock, serialization, lock or statement timeout).
_UNAVAILABLE_SQLSTATE_CLASSES = ("08", "53", "57P")
_BUSY_SQLSTATES = frozenset({"40001", "40P01", "55P03", "57014"})


class DatabaseUnavailable(ApiError):
    """503 `unavailable` with `Retry-After`: the database is down, restarting or too busy."""

    def __init__(self, detail: str | None = None, *, busy: bool = False) -> None:
        self.busy = busy  # a full pool or a lock, not a database that is down
        busy_detail = "the database is busy, try again shortly"
        detail = detail or (busy_detail if busy else "database is unavailable")
        retry_after = BUSY_RETRY_AFTER_SECONDS if busy else DOWN_RETRY_AFTER_SECONDS
        super().__init__("unavailable", detail, retry_after=retry_after)


def _sqlstate(exc: BaseException) -> str:
    for candidate in (exc, getattr(exc, "orig", None)):
        code = getattr(candidate, "sqlstate", None)
        if isinstance(code, str):
            return code
    return ""


def unavailable_from(exc: BaseException) -> DatabaseUnavailable | None:
    """The 503 a database error stands for, or None when it is a bug (a 500) or not ours."""
    if isinstance(exc, PoolTimeout):
        return DatabaseUnavailable(busy=True)
    text = str(exc)
    sqlstate = _sqlstate(exc)
    if any(marker in text for marker in _SQLITE_BUSY) or sqlstate in _BUSY_SQLSTATES:
        return DatabaseUnavailable(busy=True)
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return DatabaseUnavailable()
    if sqlstate.startswith(_UNAVAILABLE_SQLSTATE_CLASSES):
        return DatabaseUnavailable()
    if isinstance(exc, OperationalError | InterfaceError):
        return None if any(marker in text for marker in _NOT_AN_OUTAGE) else DatabaseUnavailable()
    if isinstance(exc, PendingRollbackError | OSError | ConnectionError):
        return DatabaseUnavailable()  # refused, reset, DNS, connect timeout, a dead connection
    return None


class _Pinned:
    """One connection every query of a task uses, one at a time (see `rolled_back`)."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn
        self.lock = asyncio.Lock()


_pinned: ContextVar[_Pinned | None] = ContextVar("pinned_connection", default=None)


def _enable_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")  # readers do not wait for the writer
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _set_sqlite_isolation(sync_conn: Any, level: str | None) -> None:
    sync_conn.connection.dbapi_connection.isolation_level = level


Params = Mapping[str, Any]
# Statements the direct read path keeps compiled, per process (shapes, not values).
_PLAN_CACHE_SIZE = 500


class _ReadPlan:
    """A SELECT compiled once for its shape: the SQL, where each bound value goes, and how
    each column is turned into Python (what SQLAlchemy's result processors do)."""

    __slots__ = ("compiled", "sql", "binds", "keys", "columns", "processed")

    def __init__(self, compiled: SQLCompiler) -> None:
        self.compiled = compiled
        self.sql = compiled.string
        processors: dict[str, Any] = dict(compiled._bind_processors)
        self.binds: list[tuple[str, Any]] = [
            (name, processors.get(name)) for name in compiled.positiontup or ()
        ]
        self.keys = [column.keyname for column in compiled._result_columns]
        self.columns: list[Any] | None = None  # result processors, once the types are known
        self.processed: list[tuple[str, Any]] = []  # (key, processor) where there is one

    def arguments(self, bound: Sequence[Any] | None, params: Params | None) -> list[Any]:
        """The positional values: from `params`, else from the statement they were
        extracted from (`bound`, for a statement of the same shape as the compiled one)."""
        values = self.compiled.construct_params(
            dict(params) if params else None, extracted_parameters=bound, escape_names=False
        )
        return [
            values[name] if process is None else process(values[name])
            for name, process in self.binds
        ]

    def use_types(self, dialect: Any, coltypes: Sequence[Any]) -> None:
        """Result processors for the driver's column types (asyncpg: type OIDs; SQLite: none)."""
        types = [column.type for column in self.compiled._result_columns]
        self.columns = [
            column_type._cached_result_processor(dialect, coltype)
            for column_type, coltype in zip(types, coltypes, strict=True)
        ]
        self.processed = [
            (key, process) for key, process in zip(self.keys, self.columns, strict=True) if process
        ]

    def rows(self, records: Sequence[Any]) -> list[dict[str, Any]]:
        """Each record as a dict, built in C (`dict(zip(...))`); then only the columns that
        have a result processor (SQLite's DATETIME text, say) are converted."""
        keys = self.keys
        rows = [dict(zip(keys, record, strict=False)) for record in records]  # a key a column
        for key, process in self.processed:
            for row in rows:
                row[key] = process(row[key])
        return rows


def _plan_for(statement: sa.Select, key: Any | None, dialect: Any) -> _ReadPlan | None:
    """The direct path takes a plain positional SELECT; None sends the rest through
    SQLAlchemy (expanding IN lists, literal-rendered values, duplicate column names)."""
    compiled = dialect.statement_compiler(dialect, statement, cache_key=key)
    plan = _ReadPlan(compiled)
    if (
        not compiled.positional
        or compiled.post_compile_params
        or compiled.literal_execute_params
        or not plan.keys
        or len(set(plan.keys)) != len(plan.keys)
    ):
        return None
    return plan


class Database:
    """The shared async DB layer both halves use.

    Legacy Flask code reaches it through `shared.database.bridge.LoopBridge`; the async
    half awaits it directly. Either way every query runs on the loop that opened it.
    """

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 10,
        pool_timeout: float = 5.0,
        simulated_latency_ms: int = 0,
        pooler: str | None = None,
    ) -> None:
        # `pooler`: what DB_POOLER says (auto, transaction, session, none) when not given.
        self.target: DatabaseTarget = resolve(url, pooler=pooler or get_settings().db_pooler)
        self.url = self.target.url_string
        self.pool_size = pool_size
        self.pool_timeout = pool_timeout
        self.simulated_latency = simulated_latency_ms / 1000
        self._engine: AsyncEngine | None = None
        self._probe_engine: AsyncEngine | None = None
        self._probe_lock = asyncio.Lock()
        # Monotonic times of the last query that worked and the last outage a query met:
        # what health reads before it probes.
        self.last_success = 0.0
        self.last_outage = 0.0
        self._verdict = (-math.inf, False)  # the last probe: when, and its answer
        self._loop: asyncio.AbstractEventLoop | None = None
        # Plain reads skip SQLAlchemy's Connection: one trip to the driver, no BEGIN and
        # ROLLBACK (see `_direct_rows`). Not behind a transaction pooler, where a statement
        # prepared outside a transaction may be gone by the next one.
        driver = self.target.driver
        self.direct_reads = driver == "aiosqlite" or (
            driver == "asyncpg" and self.pooler != "transaction"
        )
        # By shape (cache key) for statements built per call, by identity for built-once.
        self._plans: dict[Any, _ReadPlan | None] = {}
        # Direct reads keep their connections checked out between reads (see `_release`):
        # taking one back is a list pop, where the pool's checkout is a greenlet and its
        # bookkeeping (about 15 microseconds a read). Anyone else who needs the pool gets
        # them back first: `_sqlalchemy_users` counts the SQLAlchemy-path connections in
        # use here, `_waiting` the direct reads waiting for the pool. When every connection
        # is with a direct read, the next one waits in `_handoffs` and is handed the
        # connection the first one to finish releases (`_release`), as the floor's queue
        # and asyncpg's pool do, rather than in the pool's own queue, a greenlet each.
        self._idle: list[Any] = []
        self._handoffs: collections.deque[asyncio.Future[Any]] = collections.deque()
        self._sqlalchemy_users = 0
        self._waiting = 0
        self.queries = 0
        self.loops_seen: set[int] = set()
        self.threads_seen: set[int] = set()

    @property
    def backend(self) -> str:
        return self.target.backend

    @property
    def pooler(self) -> str:
        """`transaction`, `session` or `none`: the pooler between us and the server."""
        return self.target.pooler

    @property
    def engine(self) -> AsyncEngine:
        """The SQLAlchemy engine, its pool holding every connection the direct reads keep."""
        if self._engine is None:
            raise RuntimeError("Database.connect() has not been awaited")
        self._return_idle()
        return self._engine

    @property
    def pool(self) -> Any:
        if self._engine is None:
            raise RuntimeError("Database.connect() has not been awaited")
        return self._engine.pool

    @property
    def idle_direct(self) -> int:
        """Connections the direct reads keep between reads: open and idle, though the
        pool counts them as checked out."""
        return len(self._idle)

    def _return_idle(self) -> None:
        while self._idle:
            self._idle.pop().close()  # back to the pool's queue: no I/O (no reset on return)

    @asynccontextmanager
    async def _sqlalchemy_use(self) -> AsyncIterator[None]:
        """Around a SQLAlchemy-path connection: the direct reads give theirs back to the
        pool meanwhile, so this one never waits for a connection that sits idle here."""
        self._sqlalchemy_users += 1
        try:
            self._return_idle()
            yield
        finally:
            self._sqlalchemy_users -= 1
            self._wake_handoff()  # its connection is back in the pool

    async def connect(self) -> None:
        if self._engine is not None:
            return
        # A request waits at most `pool_timeout` for a connection, then answers 503.
        # No reset on return: a `Connection` ends its own transaction when it closes, and a
        # direct read (`_direct_rows`) opens none, so the pool's ROLLBACK would be a trip
        # for nothing.
        # DB_POOL_SIZE connections at most, each kept once opened: no overflow. SQLAlchemy
        # closes an overflow connection that comes back to a full queue, and under load
        # the queue fills before its waiters wake, so overflow meant opening and closing
        # a connection (a PostgreSQL backend, an aiosqlite thread) every few requests:
        # it doubled the CPU per request of a busy worker.
        options: dict[str, Any] = {
            "pool_size": self.pool_size,
            "max_overflow": 0,
            "pool_pre_ping": False,
            "pool_timeout": self.pool_timeout,
            "pool_reset_on_return": None,
        }
        if self.backend == "sqlite":
            database = self.target.url.database
            if database and database != ":memory:":
                try:
                    Path(database).parent.mkdir(parents=True, exist_ok=True)
                except OSError as exc:  # start anyway: queries answer 503, health says down
                    log.error("cannot create the folder of %s: %s", database, exc)
            options["connect_args"] = {"timeout": 30}  # wait for a busy writer, not fail
        else:
            if self.target.dropped:
                log.warning(
                    "DATABASE_URL: %s takes no %s; ignored",
                    self.target.driver,
                    ", ".join(self.target.dropped),
                )
            options["connect_args"] = dict(self.target.connect_args)
        self._engine = create_async_engine(self.target.url, **options)
        if self.backend == "sqlite":
            event.listen(self._engine.sync_engine, "connect", _enable_sqlite_pragmas)
        self._loop = asyncio.get_running_loop()

    async def close(self) -> None:
        if self._engine is not None:
            self._return_idle()
            while self._handoffs:  # none is coming now: to the pool, which says so
                self._wake_handoff()
            await self._engine.dispose()
            self._engine = None
        if self._probe_engine is not None:
            await self._probe_engine.dispose()
            self._probe_engine = None

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
        async with self._sqlalchemy_use(), self.engine.connect() as conn:
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
            async with self._sqlalchemy_use(), self.engine.begin() as conn:
                yield Transaction(self, conn)
        except _LIFECYCLE_ERRORS as exc:
            self._raise_unavailable_from(exc)
            raise

    # `params`: values for a statement built once with `sa.bindparam`s (the hot reads
    # keep theirs at module level: neither built nor keyed again per request).
    async def fetch_all(
        self, statement: sa.Executable, params: Params | None = None
    ) -> list[dict[str, Any]]:
        rows = await self._direct(statement, params)
        if rows is not None:
            return rows
        async with self._read() as conn:
            return await Transaction(self, conn).fetch_all(statement, params)

    async def fetch_one(
        self, statement: sa.Executable, params: Params | None = None
    ) -> dict[str, Any] | None:
        rows = await self._direct(statement, params)
        if rows is not None:
            return rows[0] if rows else None
        async with self._read() as conn:
            return await Transaction(self, conn).fetch_one(statement, params)

    async def scalar(self, statement: sa.Executable, params: Params | None = None) -> Any:
        rows = await self._direct(statement, params)
        if rows is not None:
            return next(iter(rows[0].values())) if rows else None
        async with self._read() as conn:
            return await Transaction(self, conn).scalar(statement, params)

    async def execute(self, statement: sa.Executable, params: Sequence[dict] | None = None) -> Any:
        async with self.transaction() as tx:
            return await tx.execute(statement, params)

    async def ping(self) -> None:
        await self.scalar(sa.select(1))

    async def _direct(
        self, statement: sa.Executable, params: Params | None
    ) -> list[dict[str, Any]] | None:
        """The rows of a plain SELECT read straight through the driver, or None when the
        statement (or the moment: a pinned connection) is for the SQLAlchemy path.

        Compiled once per shape (SQLAlchemy's cache key), run as one driver call outside a
        transaction: asyncpg's `fetch` (its own prepared-statement cache) or aiosqlite's
        `execute_fetchall` (one trip to its thread), where the SQLAlchemy path makes
        BEGIN, the query and ROLLBACK, or five trips to the SQLite thread. A failure is
        not interpreted here: the statement runs again on the SQLAlchemy path, which maps
        an outage to the 503 and a bug to the 500 as every other query does."""
        if not self.direct_reads or not isinstance(statement, sa.Select):
            return None
        if _pinned.get() is not None:
            return None
        plans = self._plans
        if params is not None:  # built once: its plan is found by the statement itself
            try:
                plan = plans[statement]
            except KeyError:
                if len(plans) >= _PLAN_CACHE_SIZE:
                    plans.clear()
                plan = plans[statement] = _plan_for(statement, None, self._dialect)
            bound: Any = None
        else:  # built per call: found by its shape, SQLAlchemy's cache key
            key = statement._generate_cache_key()
            if key is None:
                return None
            try:
                plan = plans[key.key]
            except KeyError:
                if len(plans) >= _PLAN_CACHE_SIZE:
                    plans.clear()
                plan = plans[key.key] = _plan_for(statement, key, self._dialect)
            bound = key.bindparams
        if plan is None:
            return None
        try:
            arguments = plan.arguments(bound, params)
        except SQLAlchemyError:  # a value SQLAlchemy resolves at execution (`.params()`)
            return None
        try:
            return await self._direct_rows(plan, arguments)
        except PoolTimeout as exc:
            raise DatabaseUnavailable(busy=True) from exc
        except Exception as exc:
            log.debug("direct read failed (%r); again through SQLAlchemy", exc)
            return None

    @property
    def _dialect(self) -> Any:
        assert self._engine is not None
        return self._engine.dialect

    async def _checkout(self) -> Any:
        """A connection for a direct read: a kept one, one handed over by a direct read
        that finishes, or the pool's."""
        if self._idle:
            return self._idle.pop()
        assert self._engine is not None
        pool = self._engine.pool
        if (
            not self._sqlalchemy_users
            and isinstance(pool, QueuePool)
            and pool.checkedout() >= pool.size()
        ):
            pooled = await self._handed_over()
            if pooled is not None:
                return pooled  # else the pool has one again (`_wake_handoff`)
        self._waiting += 1
        try:  # checking out may connect, which the async dialects do in a greenlet
            return await greenlet_spawn(self._engine.sync_engine.raw_connection)
        finally:
            self._waiting -= 1

    async def _handed_over(self) -> Any:
        """Wait, at most `pool_timeout`, for a direct read's connection (or None: take the
        pool's)."""
        waiter: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._handoffs.append(waiter)
        try:
            async with asyncio.timeout(self.pool_timeout):
                return await waiter
        except BaseException as exc:
            if waiter.done() and not waiter.cancelled():
                if (pooled := waiter.result()) is not None:
                    self._release(pooled)  # handed over just as this read gave up
                else:
                    self._wake_handoff()  # the pool's connection is someone else's then
            else:
                with contextlib.suppress(ValueError):
                    self._handoffs.remove(waiter)
            if isinstance(exc, TimeoutError):
                raise PoolTimeout(
                    f"no connection within {self.pool_timeout:g} s (pool of {self.pool_size})"
                ) from None
            raise

    def _wake_handoff(self) -> None:
        """The pool has a connection again: the longest-waiting direct read takes it there."""
        while self._handoffs:
            waiter = self._handoffs.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    async def _direct_rows(self, plan: _ReadPlan, arguments: list[Any]) -> list[dict[str, Any]]:
        pooled = await self._checkout()
        try:
            await self._before_query()
            driver = pooled.driver_connection
            assert driver is not None
            if self.backend == "sqlite":
                if plan.columns is None:
                    plan.use_types(self._dialect, [None] * len(plan.keys))
                records = await driver.execute_fetchall(plan.sql, arguments)
            else:
                if plan.columns is None:  # the column types, once, for the result processors
                    described = await driver.prepare(plan.sql)
                    oids = [attribute.type.oid for attribute in described.get_attributes()]
                    plan.use_types(self._dialect, oids)
                records = await driver.fetch(plan.sql, *arguments)
        except BaseException:
            # Whatever state a failed or cancelled call left the connection in, it is not
            # handed to the next request (closing it is I/O: in a greenlet, as checkout).
            try:
                with contextlib.suppress(Exception):
                    await greenlet_spawn(pooled.invalidate)
            finally:
                pooled.close()  # back to the pool even when the invalidation is cancelled
                self._wake_handoff()
            raise
        self._release(pooled)
        self.last_success = time.monotonic()
        return plan.rows(records)

    def _release(self, pooled: Any) -> None:
        """Handed to the longest-waiting direct read, else kept for the next one, unless
        the pool has a taker: a SQLAlchemy-path connection in use here (it may want
        another) or a direct read waiting in the pool's queue."""
        if self._sqlalchemy_users or self._waiting or self._engine is None:
            pooled.close()
            if not self._waiting:  # else a read waiting in the pool's queue takes it
                self._wake_handoff()
            return
        while self._handoffs:
            waiter = self._handoffs.popleft()
            if not waiter.done():
                waiter.set_result(pooled)
                return
        self._idle.append(pooled)

    @asynccontextmanager
    async def _read(self) -> AsyncIterator[AsyncConnection]:
        pinned = _pinned.get()
        if pinned is not None:
            async with pinned.lock:
                yield pinned.conn
            return
        try:
            async with self._sqlalchemy_use(), self.engine.connect() as conn:
                yield conn
        except _LIFECYCLE_ERRORS as exc:
            self._raise_unavailable_from(exc)
            raise

    def _raise_unavailable_from(self, exc: BaseException) -> None:
        """Raise the 503 `exc` stands for (remembering an outage for health), if any."""
        unavailable = unavailable_from(exc)
        if unavailable is None:
            return
        if not unavailable.busy:
            self.last_outage = time.monotonic()
        raise unavailable from exc

    # -- health -----------------------------------------------------------------------
    async def answers(self, *, recent: float, probe_seconds: float, hung_after: float) -> bool:
        """Whether the database is up, so that a busy pool never reads as a dead database.

        Up without asking when a query worked within `recent` seconds and none met an
        outage since. Else a `SELECT 1` on a connection of its own, outside the pool: an
        error is down; so is no answer within `probe_seconds`, unless a query worked within
        `hung_after` seconds (a process too busy to read the answer in time is not a dead
        database; one that stays silent that long is)."""
        if self._recently_up(recent):
            return True
        async with self._probe_lock:  # one probe at a time; who waited shares its answer
            now = time.monotonic()
            if self._recently_up(recent):
                return True
            if self.last_outage > self.last_success and now - self.last_outage < 1:
                return False  # a request met an outage this very second
            probed_at, verdict = self._verdict
            if now - probed_at < 1:
                return verdict
            verdict = await self._probe_answers(probe_seconds, hung_after)
            self._verdict = (time.monotonic(), verdict)
            return verdict

    async def _probe_answers(self, probe_seconds: float, hung_after: float) -> bool:
        try:
            async with asyncio.timeout(probe_seconds):
                async with self._probe().connect() as conn:
                    await conn.execute(sa.select(1))
        except TimeoutError:
            if self._recently_up(hung_after):
                log.warning("database probe took over %g s; busy, not down", probe_seconds)
                return True
            log.warning("database probe: no answer within %g s", probe_seconds)
            self.last_outage = time.monotonic()
            return False
        except Exception as exc:
            log.warning("database probe failed: %s", repr(exc)[:200])
            self.last_outage = time.monotonic()
            return False
        self.last_success = time.monotonic()
        return True

    def _recently_up(self, seconds: float) -> bool:
        success = self.last_success
        return success > self.last_outage and time.monotonic() - success < seconds

    def _probe(self) -> AsyncEngine:
        if self._probe_engine is None:
            options: dict[str, Any] = {"poolclass": NullPool}
            if self.backend == "sqlite":
                options["connect_args"] = {"timeout": 1}
            else:
                options["connect_args"] = dict(self.target.connect_args)
            self._probe_engine = create_async_engine(self.target.url, **options)
        return self._probe_engine


class Transaction:
    """Query helpers on one connection; rows come back as plain dicts."""

    def __init__(self, db: Database, conn: AsyncConnection) -> None:
        self.db = db
        self.conn = conn

    async def execute(
        self, statement: sa.Executable, params: Sequence[dict] | Params | None = None
    ) -> Any:
        """`params`: a list of dicts runs the statement once per dict; one mapping, once."""
        await self.db._before_query()
        if isinstance(params, Mapping):
            result = await self.conn.execute(statement, dict(params))
        elif params is not None:
            result = await self.conn.execute(statement, list(params))
        else:
            result = await self.conn.execute(statement)
        self.db.last_success = time.monotonic()
        return result

    async def fetch_all(
        self, statement: sa.Executable, params: Params | None = None
    ) -> list[dict[str, Any]]:
        result = await self.execute(statement, params)
        return [dict(row) for row in result.mappings().all()]

    async def fetch_one(
        self, statement: sa.Executable, params: Params | None = None
    ) -> dict[str, Any] | None:
        result = await self.execute(statement, params)
        row = result.mappings().first()
        return dict(row) if row is not None else None

    async def scalar(self, statement: sa.Executable, params: Params | None = None) -> Any:
        result = await self.execute(statement, params)
        return result.scalar()
