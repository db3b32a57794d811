"""With a bot token, user-scoped endpoints act as the user Telegram's initData proves."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest

from shared.telegram_auth import sign_init_data
from tests.support.gateway_server import GatewayServer

BOT_TOKEN = "123456:test-bot-token"
ALICE = {"id": 100000001, "username": "alice"}  # users.id 1 in the demo data
ERIN = {"id": 100000005, "username": "erin"}  # blocked


@pytest.fixture
def telegram_client(
    start_gateway: Callable[..., tuple[GatewayServer, httpx.Client]],
) -> httpx.Client:
    return start_gateway(telegram_bot_token=BOT_TOKEN)[1]


def header(user: dict, **kwargs: object) -> dict[str, str]:
    return {"X-Telegram-Init-Data": sign_init_data(user, bot_token=BOT_TOKEN, **kwargs)}


def test_valid_init_data_acts_as_that_user(telegram_client: httpx.Client) -> None:
    response = telegram_client.get("/api/subscriptions", headers=header(ALICE))
    assert response.status_code == 200
    assert response.json()["user_id"] == 1


def test_user_id_of_someone_else_is_403(telegram_client: httpx.Client) -> None:
    response = telegram_client.get(
        "/api/subscriptions", params={"user_id": 2}, headers=header(ALICE)
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


def test_missing_forged_or_stale_init_data_is_401(telegram_client: httpx.Client) -> None:
    forged = {"X-Telegram-Init-Data": sign_init_data(ALICE, bot_token="another:token")}
    stale = header(ALICE, auth_date=int(time.time()) - 25 * 3600)
    for headers in ({}, forged, stale):
        response = telegram_client.get("/api/subscriptions", params={"user_id": 1}, headers=headers)
        assert response.status_code == 401, headers
        assert response.json()["error"]["code"] == "unauthorized"


def test_blocked_user_is_403(telegram_client: httpx.Client) -> None:
    response = telegram_client.post(
        "/api/subscriptions/update",
        json={"category": "tech", "action": "subscribe"},
        headers=header(ERIN),
    )
    assert response.status_code == 403


def test_unregistered_telegram_user_is_403(telegram_client: httpx.Client) -> None:
    response = telegram_client.get("/api/subscriptions", headers=header({"id": 42}))
    assert response.status_code == 403
