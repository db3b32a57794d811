"""Brute force costs time: after AUTH_FAILURE_LIMIT failed admin-token or initData checks
from one address, that address gets 429 `rate_limited` with `Retry-After`, counted in Redis
across every gateway process of the host; other addresses are not affected.

Clients bind to their own loopback address (127.0.0.x) so each test is its own attacker.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator

import httpx
import pytest
import redis

from shared.telegram_auth import sign_init_data
from tests.conftest import ADMIN_TOKEN, ANCHOR, IN_CI, make_settings, served_by_check
from tests.support.gateway_server import GatewayServer

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
LIMIT = 10
BOT_TOKEN = "123456:test-bot-token"
ALICE = {"id": 100000001, "username": "alice"}  # users.id 1 in the demo data
FORGED = {"X-Telegram-Init-Data": sign_init_data(ALICE, bot_token="another:token")}
ATTEMPTS = 300


@pytest.fixture(scope="module")
def redis_url() -> str:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        message = f"Redis does not answer at {REDIS_URL}: {exc}"
        if IN_CI:
            pytest.fail(message + " (required under CI=true)", pytrace=False)
        pytest.skip(message)
    return REDIS_URL


@pytest.fixture(scope="module")
def gateways(database_url: str, half: str, redis_url: str) -> Iterator[list[GatewayServer]]:
    """Two gateway processes' worth of runtimes on one host: one Redis, one key prefix."""
    settings = make_settings(
        database_url,
        telegram_bot_token=BOT_TOKEN,
        auth_failure_limit=f"{LIMIT}/minute",
        rate_limit_storage_url=redis_url,
        rate_limit_key_prefix=f"test-{uuid.uuid4().hex}",  # counts of no other run
    )
    with (
        GatewayServer(settings, force_status=half) as first,
        GatewayServer(settings, force_status=half) as second,
    ):
        first.reset_data(anchor=ANCHOR)
        yield [first, second]


ClientAt = Callable[[GatewayServer, str], httpx.Client]


@pytest.fixture
def client_at(half: str) -> Iterator[ClientAt]:
    """`client_at(server, "127.0.0.7")`: an HTTP client whose connections come from there."""
    opened: list[httpx.Client] = []

    def open_client(server: GatewayServer, address: str) -> httpx.Client:
        client = httpx.Client(
            base_url=server.url,
            transport=httpx.HTTPTransport(local_address=address),
            event_hooks={"response": [served_by_check(half)]},
            timeout=30,
        )
        opened.append(client)
        return client

    yield open_client
    for client in opened:
        client.close()


def assert_locked_out_after_the_limit(responses: list[httpx.Response]) -> None:
    statuses = [response.status_code for response in responses]
    assert statuses == [401] * LIMIT + [429] * (len(responses) - LIMIT)
    for response in responses[LIMIT:]:
        assert response.json()["error"]["code"] == "rate_limited"
        assert 1 <= int(response.headers["Retry-After"]) <= 60


def test_wrong_admin_tokens_are_429_after_the_limit_on_every_gateway_of_the_host(
    gateways: list[GatewayServer], client_at: ClientAt
) -> None:
    attacker = [client_at(server, "127.0.0.2") for server in gateways]
    wrong = {"Authorization": "Bearer not-the-admin-token"}
    responses = [
        attacker[attempt % 2].get("/admin/api/stats", headers=wrong) for attempt in range(ATTEMPTS)
    ]
    assert_locked_out_after_the_limit(responses)
    right = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    # Locked out means locked out: a right guess must look like every wrong one.
    assert attacker[0].get("/admin/api/stats", headers=right).status_code == 429
    assert client_at(gateways[1], "127.0.0.3").get("/admin/api/stats", headers=right).is_success


def test_forged_init_data_is_429_after_the_limit_on_every_gateway_of_the_host(
    gateways: list[GatewayServer], client_at: ClientAt
) -> None:
    attacker = [client_at(server, "127.0.0.4") for server in gateways]
    responses = []
    for attempt in range(ATTEMPTS):
        http = attacker[attempt % 2]
        if attempt % 3 == 0:  # the WebApp sign-in counts against the same address
            responses.append(
                http.post("/webapp/api/auth", json={"init_data": FORGED["X-Telegram-Init-Data"]})
            )
        else:
            responses.append(http.get("/api/subscriptions", headers=FORGED))
    assert_locked_out_after_the_limit(responses)
    valid = {"X-Telegram-Init-Data": sign_init_data(ALICE, bot_token=BOT_TOKEN)}
    assert attacker[1].get("/api/subscriptions", headers=valid).status_code == 429
    other = client_at(gateways[0], "127.0.0.5").get("/api/subscriptions", headers=valid)
    assert other.status_code == 200
    assert other.json()["user_id"] == 1


def test_requests_without_a_credential_are_not_counted(
    gateways: list[GatewayServer], client_at: ClientAt
) -> None:
    http = client_at(gateways[0], "127.0.0.6")
    for _ in range(3 * LIMIT):
        assert http.get("/admin/api/stats").status_code == 401
        assert http.get("/api/subscriptions").status_code == 401
    valid = {"X-Telegram-Init-Data": sign_init_data(ALICE, bot_token=BOT_TOKEN)}
    assert http.get("/api/subscriptions", headers=valid).status_code == 200


def test_without_redis_each_process_still_counts(
    start_gateway: Callable[..., tuple[GatewayServer, httpx.Client]], client_at: ClientAt
) -> None:
    server, _ = start_gateway(
        auth_failure_limit=f"{LIMIT}/minute",
        rate_limit_storage_url="redis://127.0.0.1:9/0",  # nothing listens on port 9
    )
    http = client_at(server, "127.0.0.7")
    wrong = {"Authorization": "Bearer not-the-admin-token"}
    assert_locked_out_after_the_limit(
        [http.get("/admin/api/stats", headers=wrong) for _ in range(3 * LIMIT)]
    )
