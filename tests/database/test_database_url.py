"""DATABASE_URL as Supabase's dashboard gives it: every form works as pasted.

What the driver's `connect()` receives is read at SQLAlchemy's `do_connect` event, where
nothing has dialled yet; what goes on the wire is read by a server on 127.0.0.1 that
records each connection's first protocol message (a TLS request or a startup message).
"""

from __future__ import annotations

import asyncio
import socket
import socketserver
import struct
import threading
from collections.abc import Iterator
from typing import Any

import certifi
import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import make_url

from shared.database.engine import Database
from shared.database.url import DatabaseUrlError, libpq_url, normalize_url, resolve
from shared.settings import Settings, get_settings
from tests.conftest import base_url_for

REF = "abcdefghijklmnopqrst"
DIRECT = f"postgresql://postgres:s3cret@db.{REF}.supabase.co:5432/postgres"
SESSION_POOLER = (
    f"postgres://postgres.{REF}:s3cret@aws-0-eu-central-1.pooler.supabase.com:5432/postgres"
)
TRANSACTION_POOLER = (
    f"postgres://postgres.{REF}:s3cret@aws-0-eu-central-1.pooler.supabase.com:6543/postgres"
)
SSL_REQUEST, GSSENC_REQUEST, PROTOCOL_3 = 80877103, 80877104, 196608


class _Dialled(Exception):
    def __init__(self, arguments: dict[str, Any]) -> None:
        self.arguments = arguments


def driver_arguments(url: str, *, pooler: str | None = None) -> dict[str, Any]:
    """The keyword arguments a Database on `url` calls its driver's connect() with."""

    async def capture() -> dict[str, Any]:
        db = Database(url, pooler=pooler)
        await db.connect()

        def stop(_dialect: Any, _record: Any, _args: Any, kwargs: dict[str, Any]) -> None:
            raise _Dialled(dict(kwargs))

        event.listen(db.engine.sync_engine, "do_connect", stop)
        try:
            await db.ping()
        except _Dialled as dialled:
            return dialled.arguments
        finally:
            await db.close()
        raise AssertionError("the engine never tried to connect")

    return asyncio.run(capture())


# -- the forms of the dashboard ----------------------------------------------------------


@pytest.mark.parametrize("scheme", ["postgres", "postgresql"])
def test_direct_connection_string_works_as_pasted_in_both_schemes(scheme: str) -> None:
    target = resolve(DIRECT.replace("postgresql", scheme, 1))
    assert (
        target.url_string
        == f"postgresql+asyncpg://postgres:s3cret@db.{REF}.supabase.co:5432/postgres"
    )
    assert target.pooler == "none"
    arguments = driver_arguments(DIRECT.replace("postgresql", scheme, 1))
    assert arguments["host"] == f"db.{REF}.supabase.co"
    assert arguments["user"] == "postgres" and arguments["password"] == "s3cret"
    assert "statement_cache_size" not in arguments  # no pooler: asyncpg keeps its cache


def test_transaction_pooler_port_6543_is_detected_and_nothing_stays_prepared() -> None:
    db = Database(TRANSACTION_POOLER)
    assert db.pooler == "transaction"
    arguments = driver_arguments(TRANSACTION_POOLER)
    assert arguments["user"] == f"postgres.{REF}"  # Supavisor reads the project from the user
    assert arguments["port"] == 6543
    assert arguments["statement_cache_size"] == 0  # asyncpg: every statement the unnamed one
    assert arguments["prepared_statement_cache_size"] == 0  # SQLAlchemy's cache of them too


def test_psycopg_behind_the_transaction_pooler_never_prepares() -> None:
    url = TRANSACTION_POOLER.replace("postgres://", "postgresql+psycopg://")
    arguments = driver_arguments(url)
    assert "prepare_threshold" in arguments and arguments["prepare_threshold"] is None
    assert arguments["dbname"] == "postgres" and arguments["port"] == 6543


def test_session_pooler_is_detected_on_the_pooler_host() -> None:
    db = Database(SESSION_POOLER)
    assert db.pooler == "session"
    assert "statement_cache_size" not in driver_arguments(SESSION_POOLER)


def test_prisma_pgbouncer_flag_means_transaction_mode_and_is_not_sent_to_the_driver() -> None:
    url = f"{DIRECT}?pgbouncer=true&connection_limit=1"  # port 5432: only the flag says so
    target = resolve(url)
    assert target.pooler == "transaction"
    assert target.dropped == ("connection_limit",)
    arguments = driver_arguments(url)
    assert "pgbouncer" not in arguments and "connection_limit" not in arguments
    assert arguments["statement_cache_size"] == 0


@pytest.mark.parametrize(
    ("url", "setting", "pooler"),
    [
        (DIRECT, "transaction", "transaction"),  # a pooler the URL does not show
        (TRANSACTION_POOLER, "none", "none"),  # 6543 that is not a pooler
        (TRANSACTION_POOLER, "session", "session"),
        (SESSION_POOLER, "auto", "session"),
    ],
)
def test_db_pooler_overrides_what_the_url_suggests(url: str, setting: str, pooler: str) -> None:
    assert Database(url, pooler=setting).pooler == pooler
    safe = "statement_cache_size" in driver_arguments(url, pooler=setting)
    assert safe == (pooler == "transaction")


def test_db_pooler_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DB_POOLER", "transaction")
    get_settings.cache_clear()
    try:
        assert Database(DIRECT).pooler == "transaction"
        monkeypatch.setenv("DB_POOLER", "none")
        get_settings.cache_clear()
        assert Database(TRANSACTION_POOLER).pooler == "none"
    finally:
        get_settings.cache_clear()


@pytest.mark.parametrize("mode", ["require", "verify-full", "disable"])
def test_sslmode_reaches_asyncpg_as_its_ssl_argument(mode: str) -> None:
    arguments = driver_arguments(f"{DIRECT}?sslmode={mode}")
    assert arguments["ssl"] == mode
    assert "sslmode" not in arguments  # asyncpg.connect() would refuse the keyword


def test_tls_files_reach_asyncpg_with_libpq_meaning() -> None:
    url = f"{DIRECT}?sslmode=verify-full&sslrootcert=/etc/prod-ca-2021.crt"
    arguments = driver_arguments(url)
    assert arguments["ssl"] == "verify-full"
    assert arguments["dsn"] == "postgresql://?sslrootcert=%2Fetc%2Fprod-ca-2021.crt"


@pytest.mark.parametrize("mode", ["require", "verify-full", "disable"])
def test_sslmode_reaches_psycopg_as_libpq_reads_it(mode: str) -> None:
    url = f"{DIRECT.replace('postgresql://', 'postgresql+psycopg://')}?sslmode={mode}"
    assert driver_arguments(url)["sslmode"] == mode


def test_startup_parameters_and_connect_timeout_are_translated_for_asyncpg() -> None:
    url = (
        f"{DIRECT}?options=-c%20statement_timeout%3D5000&application_name=newsdigest"
        "&connect_timeout=10&sslmode=require"
    )
    arguments = driver_arguments(url)
    assert arguments["server_settings"] == {
        "options": "-c statement_timeout=5000",
        "application_name": "newsdigest",
    }
    assert arguments["timeout"] == 10.0
    assert "connect_timeout" not in arguments and "options" not in arguments


def test_libpq_parameters_go_to_psycopg_unchanged() -> None:
    url = (
        f"{DIRECT.replace('postgresql://', 'postgresql+psycopg://')}"
        "?options=-c%20statement_timeout%3D5000&application_name=newsdigest&connect_timeout=10"
    )
    arguments = driver_arguments(url)
    assert arguments["options"] == "-c statement_timeout=5000"
    assert arguments["application_name"] == "newsdigest"
    assert arguments["connect_timeout"] == "10"


def test_libpq_url_gives_other_libpq_clients_the_pasted_parameters() -> None:
    url = f"{TRANSACTION_POOLER}?sslmode=require&application_name=nd&pgbouncer=true"
    assert libpq_url(url) == (
        f"postgresql://postgres.{REF}:s3cret@aws-0-eu-central-1.pooler.supabase.com:6543"
        "/postgres?application_name=nd&sslmode=require"
    )


def test_sqlite_urls_take_the_async_driver() -> None:
    assert resolve("sqlite:///var/app.db").url_string == "sqlite+aiosqlite:///var/app.db"
    assert resolve("sqlite+aiosqlite:///var/app.db").pooler == "none"


@pytest.mark.parametrize(
    ("url", "words"),
    [
        (
            f"postgresql://postgres:[YOUR-PASSWORD]@db.{REF}.supabase.co:5432/postgres",
            "[YOUR-PASSWORD]",
        ),
        (f"postgresql://postgres:p@ss@db.{REF}.supabase.co:5432/postgres", "%40"),
        (f"{DIRECT}?sslmode=sometimes", "sslmode must be one of"),
        (f"{DIRECT}?connect_timeout=soon", "connect_timeout must be a number"),
        ("mysql://root@localhost/app", "sqlite:// or postgresql://"),
    ],
)
def test_a_url_no_driver_can_use_is_refused_at_startup_saying_what_to_change(
    url: str, words: str
) -> None:
    with pytest.raises(DatabaseUrlError, match=words.replace("[", r"\[").replace("]", r"\]")):
        resolve(url)
    with pytest.raises(ValueError, match="DATABASE_URL"):
        Settings(_env_file=None, database_url=url)


# -- on the wire -------------------------------------------------------------------------


class FirstMessages(socketserver.ThreadingTCPServer):
    """Records the protocol messages each connection opens with; answers a TLS (or GSS)
    request with 'N' (not supported) and reads what the client sends next."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        self.seen: list[list[str]] = []
        super().__init__(("127.0.0.1", 0), _RecordFirstMessages)

    @property
    def port(self) -> int:
        return int(self.server_address[1])


class _RecordFirstMessages(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        server: FirstMessages = self.server  # type: ignore[assignment]
        seen: list[str] = []
        server.seen.append(seen)
        self.request.settimeout(5)
        for _ in range(3):
            head = _read(self.request, 8)
            if head is None:
                return
            length, code = struct.unpack("!ii", head)
            if code == SSL_REQUEST:
                seen.append("tls request")
            elif code == GSSENC_REQUEST:
                seen.append("gss request")
            else:
                seen.append("startup" if code == PROTOCOL_3 else f"code {code}")
                return  # then hang up: no server behind
            self.request.sendall(b"N")


def _read(sock: socket.socket, size: int) -> bytes | None:
    data = b""
    while len(data) < size:
        try:
            chunk = sock.recv(size - len(data))
        except OSError:
            return None
        if not chunk:
            return None
        data += chunk
    return data


@pytest.fixture
def first_messages() -> Iterator[FirstMessages]:
    server = FirstMessages()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _try_connect(url: str) -> None:
    async def ping() -> None:
        db = Database(url, pooler="none")
        await db.connect()
        try:
            await db.ping()
        finally:
            await db.close()

    with pytest.raises(Exception):  # noqa: B017 - nobody real answers; the wire is the test
        asyncio.run(ping())


def _tls_and_startup(seen: list[list[str]]) -> list[list[str]]:
    return [[m for m in connection if m != "gss request"] for connection in seen]


@pytest.mark.parametrize("driver", ["asyncpg", "psycopg"])
@pytest.mark.parametrize(
    "query",
    ["sslmode=require", f"sslmode=verify-full&sslrootcert={certifi.where()}", "ssl=require"],
)
def test_tls_is_requested_and_never_given_up_when_sslmode_asks(
    first_messages: FirstMessages, driver: str, query: str
) -> None:
    if driver == "psycopg" and query.startswith("ssl="):
        query = "sslmode=require"
    _try_connect(f"postgresql+{driver}://postgres@127.0.0.1:{first_messages.port}/db?{query}")
    connections = _tls_and_startup(first_messages.seen)
    assert connections, "the driver never connected"
    # Every attempt opens with a TLS request, and none goes on in plain text after the 'N'.
    assert all(connection == ["tls request"] for connection in connections), connections


@pytest.mark.parametrize("driver", ["asyncpg", "psycopg"])
def test_sslmode_disable_starts_in_plain_text(first_messages: FirstMessages, driver: str) -> None:
    _try_connect(
        f"postgresql+{driver}://postgres@127.0.0.1:{first_messages.port}/db?sslmode=disable"
    )
    connections = _tls_and_startup(first_messages.seen)
    assert connections and all(connection == ["startup"] for connection in connections)


# -- against the real server ---------------------------------------------------------------


@pytest.mark.parametrize("driver", ["asyncpg", "psycopg"])
def test_startup_parameters_of_the_url_reach_postgresql(driver: str) -> None:
    base = make_url(normalize_url(base_url_for("postgresql"))).set(
        drivername=f"postgresql+{driver}"
    )
    url = (
        base.render_as_string(hide_password=False)
        + "?options=-c%20statement_timeout%3D1234&application_name=newsdigest-url-test"
        + "&connect_timeout=5&sslmode=disable"
    )

    async def settings_seen() -> tuple[str, str]:
        db = Database(url, pooler="none")
        await db.connect()
        try:
            timeout = await db.scalar(sa.text("SHOW statement_timeout"))
            name = await db.scalar(sa.text("SHOW application_name"))
        finally:
            await db.close()
        return timeout, name

    assert asyncio.run(settings_seen()) == ("1234ms", "newsdigest-url-test")
