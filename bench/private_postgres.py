"""A PostgreSQL server of the benchmark's own, for the 1,000-request burst.

The burst's injected latency holds a pooled connection for 500 ms (see "Injected latency
and the pool" in docs/architecture.md), so 1,000 requests at once need 1,000 connections
to finish in one wave; the shared server on 5432 allows 100 and is never touched. This
one is initdb'd in a temp dir and started on a free port (as the `postgres` user when
the harness runs as root) with `max_connections` for the burst, and removed at the end.
It reuses the test suite's helper (tests/support/private_postgres.py); only the server's
settings differ.
"""

from __future__ import annotations

from pathlib import Path

from tests.support.private_postgres import PrivatePostgres, postgres_bin_dir

BACKEND = "postgresql-burst"  # the Backend / Profile name of databases on this server
MAX_CONNECTIONS = 1100  # the burst's 1,000 pooled connections, and room for the harness
HEADROOM = 50  # connections kept free for the harness, health probes and superusers


class BurstPostgres(PrivatePostgres):
    """`with BurstPostgres(bin_dir) as pg:` a running server at `pg.url`."""

    def __init__(self, bin_dir: Path, *, max_connections: int = MAX_CONNECTIONS) -> None:
        super().__init__(bin_dir)
        self.max_connections = max_connections

    @property
    def connection_budget(self) -> int:
        """Connections the servers under test may hold at once."""
        return self.max_connections - HEADROOM

    def start(self) -> None:
        if not self.data.exists():
            self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync")
        # Modest memory for a thousand idle backends; no durability (scratch data).
        options = " ".join(
            [
                f"-p {self.port}",
                "-c listen_addresses=127.0.0.1",
                f"-c unix_socket_directories={self.root}",
                f"-c max_connections={self.max_connections}",
                "-c shared_buffers=64MB",
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
            ]
        )
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-o", options, "start")


def start_burst_postgres() -> tuple[BurstPostgres | None, str]:
    """A running server, or None and why not (no initdb/pg_ctl, or it would not start)."""
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        return None, "initdb and pg_ctl were not found (install PostgreSQL or set PG_BIN)"
    server = BurstPostgres(bin_dir)
    try:
        server.start()
    except (RuntimeError, OSError) as exc:
        server.close()
        return None, f"the private PostgreSQL did not start: {str(exc)[:300]}"
    return server, ""
