"""GET /api/health and GET /api/version."""

from __future__ import annotations

from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import httpx
import pytest

from tests.conftest import http_client, make_settings
from tests.support.gateway_server import GatewayServer

# Nothing listens on port 1: the connection is refused at once.
UNREACHABLE_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:1/test"


def test_health_is_ok_when_the_database_answers(client: httpx.Client) -> None:
    response = client.get("/api/health")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"status": "ok", "database": "ok"}


@pytest.fixture
def gateway_without_database(half: str, tmp_path: Path) -> Iterator[list[httpx.Client]]:
    """Gateways whose database does not answer (they still start: the pool connects lazily)."""
    urls = [
        UNREACHABLE_POSTGRES,
        f"sqlite+aiosqlite:///{tmp_path}",  # a directory, not a database file
    ]
    servers = [GatewayServer(make_settings(url), force_status=half).start() for url in urls]
    clients = [http_client(server, half) for server in servers]
    try:
        yield clients
    finally:
        for http, server in zip(clients, servers, strict=True):
            http.close()
            server.stop()


# aiosqlite (0.22) stops a connection that failed to open without waiting for it; when the
# server's loop closes first, that thread's late report is an "Event loop is closed" warning.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_health_is_503_degraded_when_the_database_is_down(
    gateway_without_database: list[httpx.Client],
) -> None:
    for http in gateway_without_database:
        response = http.get("/api/health")
        assert response.status_code == 503
        assert response.headers["content-type"] == "application/json"
        assert response.json() == {"status": "degraded", "database": "down"}


def test_version_names_the_installed_package(client: httpx.Client) -> None:
    response = client.get("/api/version")
    assert response.status_code == 200
    assert response.json() == {
        "name": "newsdigest",
        "version": metadata.version("newsdigest-gateway"),
    }
