"""POST /api/telegram/webhook: WebApp launches and Bot API updates."""

from __future__ import annotations

import httpx

from tests.conftest import WEBHOOK_SECRET

SECRET = {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}


def test_launch_of_a_known_user_returns_their_id(client: httpx.Client) -> None:
    response = client.post(
        "/api/telegram/webhook",
        json={"telegram_id": 100000001, "username": "alice"},
        headers=SECRET,
    )
    assert response.status_code == 200
    assert response.json() == {"ok": True, "user_id": 1}


def test_start_command_creates_the_user_once(client: httpx.Client) -> None:
    update = {
        "update_id": 1,
        "message": {"from": {"id": 300000001, "username": "newbie"}, "text": "/start"},
    }
    first = client.post("/api/telegram/webhook", json=update, headers=SECRET).json()
    second = client.post("/api/telegram/webhook", json=update, headers=SECRET).json()
    assert first["ok"] and first["user_id"] == second["user_id"]
    assert client.get("/api/subscriptions", params={"user_id": first["user_id"]}).status_code == 200


def test_other_messages_from_unknown_senders_answer_null(client: httpx.Client) -> None:
    update = {"update_id": 2, "message": {"from": {"id": 300000002}, "text": "hi"}}
    response = client.post("/api/telegram/webhook", json=update, headers=SECRET)
    assert response.json() == {"ok": True, "user_id": None}


def test_secret_header_is_required_when_configured(client: httpx.Client) -> None:
    body = {"telegram_id": 100000001}
    missing = client.post("/api/telegram/webhook", json=body)
    wrong = client.post(
        "/api/telegram/webhook",
        json=body,
        headers={**SECRET, **{"X-Telegram-Bot-Api-Secret-Token": "nope"}},
    )
    for response in (missing, wrong):
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthorized"


def test_a_body_with_neither_launch_nor_message_is_400(client: httpx.Client) -> None:
    response = client.post("/api/telegram/webhook", json={"update_id": 3}, headers=SECRET)
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "telegram_id"
