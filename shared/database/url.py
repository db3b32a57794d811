"""DATABASE_URL as people paste it, translated for the driver.

Supabase's dashboard (like libpq, psql and most tutorials) gives `postgres://` or
`postgresql://` URLs whose query holds libpq parameters (`sslmode=require`, `options=`,
`application_name=`, `connect_timeout=`). SQLAlchemy wants the driver in the scheme and
hands the query to the driver as keyword arguments, which asyncpg mostly names otherwise.
`resolve()` turns such a URL into what the engine needs: the SQLAlchemy URL, the
driver's connect arguments, and whether a transaction pooler sits in between (then no
statement may stay prepared on a server connection: the next transaction may be another
client's, on another server connection).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, get_args
from urllib.parse import urlencode

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

Pooler = Literal["transaction", "session", "none"]
PoolerSetting = Literal["auto", "transaction", "session", "none"]
POOLER_SETTINGS: tuple[str, ...] = get_args(PoolerSetting)

# The driver of `postgres://` and `postgresql://` URLs; `postgresql+psycopg://` picks the
# other. Measured in docs/architecture.md, "The PostgreSQL driver".
DEFAULT_POSTGRES_DRIVER = "asyncpg"
DRIVERS = ("asyncpg", "psycopg")

# Supabase: the transaction pooler is port 6543 (on *.pooler.supabase.com, or the dedicated
# pooler on db.<ref>.supabase.co); the session pooler is port 5432 on the pooler host.
SUPABASE_POOLER_HOST_SUFFIX = ".pooler.supabase.com"
TRANSACTION_POOLER_PORTS = frozenset({6543, 6432})  # 6432: PgBouncer's own default, mode unseen

# What libpq understands in a connection URI (PostgreSQL 16): psycopg passes these on as
# they are; anything else in the query is some other tool's (Prisma's `pgbouncer=true`,
# `connection_limit`, `schema`) and libpq would refuse the whole URL for it.
LIBPQ_PARAMETERS = frozenset(
    {
        "host", "hostaddr", "port", "dbname", "user", "password", "passfile",
        "require_auth", "channel_binding", "connect_timeout", "client_encoding", "options",
        "application_name", "fallback_application_name", "keepalives", "keepalives_idle",
        "keepalives_interval", "keepalives_count", "tcp_user_timeout", "replication",
        "gssencmode", "sslmode", "requiressl", "sslnegotiation", "sslcompression", "sslcert",
        "sslkey", "sslpassword", "sslcertmode", "sslrootcert", "sslcrl", "sslcrldir",
        "sslsni", "requirepeer", "ssl_min_protocol_version", "ssl_max_protocol_version",
        "krbsrvname", "gsslib", "gssdelegation", "service", "target_session_attrs",
        "load_balance_hosts",
    }
)  # fmt: skip
SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")

# asyncpg's names for the libpq parameters it knows. It reads the TLS files from a DSN's
# query with libpq's meaning (root.crt lookup, verify-ca against verify-full), so they go
# to it that way; the startup parameters go in `server_settings`.
_ASYNCPG_URL_PARAMETERS = frozenset({"target_session_attrs", "passfile", "krbsrvname", "gsslib"})
_ASYNCPG_TLS_FILES = frozenset(
    {
        "sslcert", "sslkey", "sslrootcert", "sslcrl", "sslpassword", "sslnegotiation",
        "ssl_min_protocol_version", "ssl_max_protocol_version",
    }
)  # fmt: skip
_ASYNCPG_STARTUP_SETTINGS = frozenset({"application_name", "options", "client_encoding"})
# asyncpg's own keywords, when a URL says `postgresql+asyncpg://` and uses them.
_ASYNCPG_NUMBERS = {
    "timeout": float,
    "command_timeout": float,
    "statement_cache_size": int,
    "max_cached_statement_lifetime": int,
    "max_cacheable_statement_size": int,
}


class DatabaseUrlError(ValueError):
    """A DATABASE_URL that cannot mean a database; the message says what to change."""


@dataclass(frozen=True)
class DatabaseTarget:
    """Where the engine connects and how: see `resolve`."""

    url: URL
    connect_args: dict[str, Any] = field(default_factory=dict)
    pooler: Pooler = "none"
    dropped: tuple[str, ...] = ()  # query parameters this driver cannot take

    @property
    def backend(self) -> Literal["sqlite", "postgresql"]:
        return "sqlite" if self.url.get_backend_name() == "sqlite" else "postgresql"

    @property
    def driver(self) -> str:
        return self.url.get_driver_name()

    @property
    def url_string(self) -> str:
        return self.url.render_as_string(hide_password=False)


def resolve(url: str, *, pooler: str = "auto") -> DatabaseTarget:
    """The SQLAlchemy URL, connect arguments and pooler mode of a DATABASE_URL.

    `pooler`: `auto` detects a transaction pooler (port 6543 or 6432, or Prisma's
    `pgbouncer=true`) and Supabase's session pooler (port 5432 on *.pooler.supabase.com);
    `transaction`, `session` or `none` (DB_POOLER) say it outright."""
    if pooler not in POOLER_SETTINGS:
        raise DatabaseUrlError(f"DB_POOLER must be one of {', '.join(POOLER_SETTINGS)}")
    parsed = _parse(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.drivername == "sqlite":
            parsed = parsed.set(drivername="sqlite+aiosqlite")
        return DatabaseTarget(parsed)
    driver = parsed.get_driver_name() if "+" in parsed.drivername else DEFAULT_POSTGRES_DRIVER
    if driver not in DRIVERS:
        raise DatabaseUrlError(f"unsupported PostgreSQL driver {driver!r} (use asyncpg or psycopg)")
    mode = _pooler_mode(parsed, pooler)
    query = dict(parsed.query)
    query.pop("pgbouncer", None)  # read by detect_pooler; no driver takes it
    if "ssl" in query and "sslmode" not in query and driver == "psycopg":
        query["sslmode"] = _ssl_mode(query.pop("ssl"))
    parsed = parsed.set(drivername=f"postgresql+{driver}", query={})
    translate = _for_asyncpg if driver == "asyncpg" else _for_psycopg
    kept, connect_args, dropped = translate(query)
    if mode == "transaction":
        connect_args.update(_TRANSACTION_POOLER_ARGS[driver])
    return DatabaseTarget(parsed.set(query=kept), connect_args, mode, tuple(dropped))


def normalize_url(url: str) -> str:
    """The SQLAlchemy URL (driver in the scheme) of a DATABASE_URL, as a string. Options
    the driver takes as connect arguments are not in it: build engines from `resolve`."""
    return resolve(url).url_string


def libpq_url(url: str) -> str:
    """A PostgreSQL DATABASE_URL in libpq's own form (`postgresql://`, libpq's parameters
    only), for code that hands it to libpq: psycopg's connection pools, psql, pg_dump."""
    parsed = _parse(url)
    query = dict(parsed.query)
    if "ssl" in query and "sslmode" not in query:
        query["sslmode"] = _ssl_mode(query.pop("ssl"))
    kept = {key: value for key, value in query.items() if key in LIBPQ_PARAMETERS}
    plain = parsed.set(drivername="postgresql", query=kept)
    return plain.render_as_string(hide_password=False)


def detect_pooler(url: URL) -> Pooler:
    """What the URL alone says about a pooler in front of the server."""
    if str(url.query.get("pgbouncer", "")).lower() in ("true", "1"):
        return "transaction"
    if url.port in TRANSACTION_POOLER_PORTS:
        return "transaction"
    if (url.host or "").endswith(SUPABASE_POOLER_HOST_SUFFIX):
        return "session"  # the pooler host on any other port (5432): Supavisor's session mode
    return "none"


# -- the pieces ---------------------------------------------------------------------------

# Statements prepared on a server connection stay there when the transaction ends; behind a
# transaction pooler the next one may be another client's, on another server connection.
# asyncpg: no statement cache, so every statement is the unnamed one and is parsed again
# with its Bind; SQLAlchemy's own cache of asyncpg statements off too. psycopg: never prepare.
_TRANSACTION_POOLER_ARGS: dict[str, dict[str, Any]] = {
    "asyncpg": {"statement_cache_size": 0, "prepared_statement_cache_size": 0},
    "psycopg": {"prepare_threshold": None},
}


def _parse(url: str) -> URL:
    url = url.strip()
    for plain in ("postgres://", "postgresql://"):
        if url.startswith(plain):
            url = "postgresql://" + url[len(plain) :]
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise DatabaseUrlError(f"DATABASE_URL is not a database URL: {exc}") from None
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise DatabaseUrlError("DATABASE_URL must be a sqlite:// or postgresql:// URL")
    if parsed.get_backend_name() == "sqlite":
        return parsed
    if "@" in (parsed.host or ""):
        raise DatabaseUrlError(
            "DATABASE_URL: percent-encode the password's special characters (@ as %40)"
        )
    if parsed.password and parsed.password.strip("[]").upper() == "YOUR-PASSWORD":
        raise DatabaseUrlError("DATABASE_URL still holds [YOUR-PASSWORD]: put the password in")
    return parsed


def _pooler_mode(url: URL, setting: str) -> Pooler:
    if setting == "auto":
        return detect_pooler(url)
    return setting  # type: ignore[return-value]  # checked against POOLER_SETTINGS


def _ssl_mode(value: Any) -> str:
    text = str(value).lower()
    if text in SSL_MODES:
        return text
    if text in ("true", "1", "on", "yes"):
        return "require"
    if text in ("false", "0", "off", "no"):
        return "disable"
    raise DatabaseUrlError(f"DATABASE_URL: sslmode must be one of {', '.join(SSL_MODES)}")


def _for_psycopg(query: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    """libpq takes its own parameters as they are; the others would fail the connect."""
    if "sslmode" in query:
        query["sslmode"] = _ssl_mode(query["sslmode"])
    kept = {key: value for key, value in query.items() if key in LIBPQ_PARAMETERS}
    return kept, {}, sorted(set(query) - set(kept))


def _for_asyncpg(query: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    kept: dict[str, Any] = {}
    args: dict[str, Any] = {}
    settings: dict[str, str] = {}
    tls_files: dict[str, str] = {}
    used: set[str] = set()
    for key, value in query.items():
        used.add(key)
        if key in ("sslmode", "ssl"):
            # The mode stays in the URL: an engine built from the URL alone asks for TLS too.
            kept["ssl"] = _ssl_mode(value)
        elif key in _ASYNCPG_TLS_FILES:
            tls_files[key] = str(value)
        elif key == "connect_timeout":
            args["timeout"] = _number(key, value, float)
        elif key in _ASYNCPG_STARTUP_SETTINGS:
            settings[key] = str(value)
        elif key == "fallback_application_name":
            settings.setdefault("application_name", str(value))
        elif key in _ASYNCPG_URL_PARAMETERS or key == "prepared_statement_cache_size":
            kept[key] = value
        elif key in _ASYNCPG_NUMBERS:
            args[key] = _number(key, value, _ASYNCPG_NUMBERS[key])
        elif key == "direct_tls":
            args[key] = str(value).lower() in ("true", "1", "on", "yes")
        else:
            used.discard(key)
    if tls_files:
        args["dsn"] = "postgresql://?" + urlencode(tls_files)
    if settings:
        args["server_settings"] = settings
    return kept, args, sorted(set(query) - used)


def _number(key: str, value: Any, kind: type) -> Any:
    try:
        return kind(value)
    except ValueError:
        raise DatabaseUrlError(f"DATABASE_URL: {key} must be a number, not {value!r}") from None
