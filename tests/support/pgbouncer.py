"""A PgBouncer of one's own in `pool_mode = transaction`, in front of the PostgreSQL at
127.0.0.1:5432, on a free port in a temp dir: what Supabase's transaction pooler (port
6543) does to a client, on loopback.

In a test: `with PrivatePgBouncer(bin_path) as bouncer: ... bouncer.url_for(database)`.
Around a command, with the pooled URL in DATABASE_URL and PGBOUNCER_URL, and
DB_POOLER=transaction (the random port does not say so):

    python -m tests.support.pgbouncer -- python -m gateway parity

(`{url}` in the command is replaced by the pooled URL too). Exits 1 under CI=true when
pgbouncer is missing, else runs nothing and exits 0 with a notice.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Self
from urllib.parse import urlsplit

_RUN_AS = "postgres"  # pgbouncer refuses to run as root
DEFAULT_BACKEND = "postgresql://postgres@127.0.0.1:5432/test"
# Fewer server connections than the gateway's pool (10): clients share them,
# so a statement left prepared by one client is met by another, as on a busy pooler.
DEFAULT_SERVER_POOL_SIZE = 5


def pgbouncer_path() -> str | None:
    """$PGBOUNCER, the PATH, or Debian's /usr/sbin (not on a non-root user's PATH)."""
    for candidate in (os.environ.get("PGBOUNCER"), shutil.which("pgbouncer")):
        if candidate and Path(candidate).is_file():
            return candidate
    debian = Path("/usr/sbin/pgbouncer")
    return str(debian) if debian.is_file() else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PrivatePgBouncer:
    """`with PrivatePgBouncer(path) as bouncer:` transaction pooling at `bouncer.url`."""

    def __init__(
        self,
        binary: str,
        *,
        backend_url: str = DEFAULT_BACKEND,
        server_pool_size: int = DEFAULT_SERVER_POOL_SIZE,
    ) -> None:
        self.binary = binary
        backend = urlsplit(backend_url)
        self.backend_host = backend.hostname or "127.0.0.1"
        self.backend_port = backend.port or 5432
        self.user = backend.username or "postgres"
        self.database = backend.path.lstrip("/") or "postgres"
        self.server_pool_size = server_pool_size
        self.port = _free_port()
        self.root = Path(tempfile.mkdtemp(prefix="private-pgbouncer-"))
        self.log = self.root / "pgbouncer.log"
        self._as_other_user = os.geteuid() == 0
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return self.url_for(self.database)

    def url_for(self, database: str) -> str:
        """The pooled URL of `database` (any database of the backend: `* =` forwards it)."""
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def _write_config(self) -> Path:
        (self.root / "userlist.txt").write_text(f'"{self.user}" ""\n')
        config = self.root / "pgbouncer.ini"
        config.write_text(
            "\n".join(
                [
                    "[databases]",
                    f"* = host={self.backend_host} port={self.backend_port}",
                    "[pgbouncer]",
                    "pool_mode = transaction",
                    "listen_addr = 127.0.0.1",
                    f"listen_port = {self.port}",
                    f"unix_socket_dir = {self.root}",
                    "auth_type = trust",
                    f"auth_file = {self.root / 'userlist.txt'}",
                    f"admin_users = {self.user}",
                    f"default_pool_size = {self.server_pool_size}",
                    "max_client_conn = 2000",
                    f"logfile = {self.log}",
                    f"pidfile = {self.root / 'pgbouncer.pid'}",
                    # JDBC and some poolers send it; nothing here depends on it.
                    "ignore_startup_parameters = extra_float_digits",
                    "",
                ]
            )
        )
        if self._as_other_user:
            for path in (self.root, *self.root.iterdir()):
                shutil.chown(path, _RUN_AS)
        return config

    def start(self) -> None:
        command = [self.binary, str(self._write_config())]
        if self._as_other_user:
            command = ["runuser", "-u", _RUN_AS, "--", *command]
        self._process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        deadline = time.monotonic() + 15
        while not self._accepts():
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"pgbouncer did not start: {self._log_tail()}")
            time.sleep(0.05)

    def _accepts(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def _log_tail(self) -> str:
        return self.log.read_text()[-2000:] if self.log.exists() else "(no log)"

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        # SIGINT is pgbouncer's "shut down now" (SIGTERM waits for clients to leave).
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.support.pgbouncer",
        description="Run a command with a private transaction-mode PgBouncer in front of "
        "PostgreSQL; the pooled URL is in DATABASE_URL and PGBOUNCER_URL, and replaces {url}; "
        "DB_POOLER=transaction.",
    )
    parser.add_argument(
        "--backend",
        default=os.environ.get("TEST_POSTGRES_URL", DEFAULT_BACKEND),
        help="the PostgreSQL behind it (default: $TEST_POSTGRES_URL or %(default)s)",
    )
    parser.add_argument("--pool-size", type=int, default=DEFAULT_SERVER_POOL_SIZE)
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- command [args…]")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command to run after --")
    binary = pgbouncer_path()
    if binary is None:
        message = "pgbouncer is not installed (scripts/install-pgbouncer.sh)"
        if os.environ.get("CI", "").lower() == "true":
            print(f"{message}: required under CI=true", file=sys.stderr)
            return 1
        print(f"{message}: skipped {' '.join(command)}", file=sys.stderr)
        return 0
    backend = args.backend.replace("+asyncpg", "").replace("+psycopg", "")
    with PrivatePgBouncer(binary, backend_url=backend, server_pool_size=args.pool_size) as pool:
        # Its port is a random one, so DB_POOLER says what the URL cannot.
        env = {**os.environ, "DATABASE_URL": pool.url, "PGBOUNCER_URL": pool.url}
        env["DB_POOLER"] = "transaction"
        print(f"pgbouncer (transaction mode) at {pool.url}", file=sys.stderr, flush=True)
        done = subprocess.run([part.replace("{url}", pool.url) for part in command], env=env)
        return done.returncode


if __name__ == "__main__":
    sys.exit(main())
