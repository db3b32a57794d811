"""GET /api/notifications and POST /api/notifications/<id>/read."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from shared.telegram_auth import sign_init_data
from tests.support.gateway_server import GatewayServer

StartGateway = Callable[..., tuple[GatewayServer, httpx.Client]]
BOT_TOKEN = "123456:test-bot-token"
ALICE = {"id": 100000001, "username": "alice"}  # users.id 1 in the demo data
# Demo notifications: 1-3 are alice's (1 read), 4-6 bob's (6 unread), 7-8 carol's.


def error(response: httpx.Response) -> dict:
    return response.json()["error"]


def test_notifications_are_newest_first(client: httpx.Client) -> None:
    response = client.get("/api/notifications", params={"user_id": 1})
    assert response.status_code == 200
    body = response.json()
    assert (body["total"], body["limit"], body["offset"]) == (3, 20, 0)
    assert [item["id"] for item in body["items"]] == [3, 2, 1]
    assert body["items"][0] == {
        "id": 3,
        "title": "Bitcoin is moving",
        "body": "Bitcoin swung sharply in the last hour.",
        "is_read": False,
        "created_at": body["items"][0]["created_at"],
    }
    assert [item["is_read"] for item in body["items"]] == [False, False, True]


@pytest.mark.parametrize("flag", ["true", "1", "yes", "on"])
def test_unread_only(client: httpx.Client, flag: str) -> None:
    body = client.get("/api/notifications", params={"user_id": 1, "unread_only": flag}).json()
    assert [item["id"] for item in body["items"]] == [3, 2]
    assert body["total"] == 2


def test_unread_only_false_lists_everything(client: httpx.Client) -> None:
    body = client.get("/api/notifications", params={"user_id": 2, "unread_only": "false"}).json()
    assert body["total"] == 3


def test_notifications_page(client: httpx.Client) -> None:
    body = client.get("/api/notifications", params={"user_id": 1, "limit": 1, "offset": 1}).json()
    assert ([item["id"] for item in body["items"]], body["total"]) == ([2], 3)


@pytest.mark.parametrize(
    ("params", "status", "field"),
    [
        ({}, 400, "user_id"),
        ({"user_id": 1, "unread_only": "maybe"}, 400, "unread_only"),
        ({"user_id": 1, "limit": 0}, 400, "limit"),
        ({"user_id": 999}, 404, None),
        ({"user_id": 5}, 403, None),
    ],
)
def test_bad_notification_queries(
    client: httpx.Client, params: dict, status: int, field: str | None
) -> None:
    response = client.get("/api/notifications", params=params)
    assert response.status_code == status
    assert error(response).get("field") == field


def test_unread_only_must_be_a_boolean(client: httpx.Client) -> None:
    response = client.get("/api/notifications", params={"user_id": 1, "unread_only": "maybe"})
    assert error(response)["message"] == "unread_only must be a boolean"


def test_marking_read(client: httpx.Client) -> None:
    response = client.post("/api/notifications/2/read", params={"user_id": 1})
    assert response.status_code == 200
    notification = response.json()["notification"]
    assert (notification["id"], notification["is_read"]) == (2, True)
    assert notification["title"] == "FOMC rate decision next week"
    unread = client.get("/api/notifications", params={"user_id": 1, "unread_only": "true"})
    assert [item["id"] for item in unread.json()["items"]] == [3]
    again = client.post("/api/notifications/2/read", params={"user_id": 1})
    assert (again.status_code, again.json()) == (200, response.json())


def test_body_is_ignored(client: httpx.Client) -> None:
    response = client.post("/api/notifications/3/read", params={"user_id": 1}, json={"user_id": 2})
    assert response.status_code == 200


def test_someone_elses_notification_is_404_and_stays_unread(client: httpx.Client) -> None:
    response = client.post("/api/notifications/6/read", params={"user_id": 1})
    assert response.status_code == 404
    assert error(response) == {"code": "not_found", "message": "notification not found"}
    unread = client.get("/api/notifications", params={"user_id": 2, "unread_only": "true"})
    assert [item["id"] for item in unread.json()["items"]] == [6]


@pytest.mark.parametrize(
    ("path", "params", "status", "field"),
    [
        ("/api/notifications/999/read", {"user_id": 1}, 404, None),
        ("/api/notifications/2/read", {}, 400, "user_id"),
        ("/api/notifications/0/read", {"user_id": 1}, 400, "notification_id"),
        ("/api/notifications/2/read", {"user_id": 5}, 403, None),
        ("/api/notifications/2/read", {"user_id": 999}, 404, None),
    ],
)
def test_bad_mark_read_requests(
    client: httpx.Client, path: str, params: dict, status: int, field: str | None
) -> None:
    response = client.post(path, params=params)
    assert response.status_code == status
    assert error(response).get("field") == field


def test_with_a_bot_token_notifications_are_your_own(start_gateway: StartGateway) -> None:
    _, http = start_gateway(telegram_bot_token=BOT_TOKEN)
    proof = {"X-Telegram-Init-Data": sign_init_data(ALICE, bot_token=BOT_TOKEN)}
    assert http.get("/api/notifications").status_code == 401
    assert http.get("/api/notifications", headers=proof).json()["total"] == 3
    assert http.post("/api/notifications/2/read", headers=proof).status_code == 200
    assert http.post("/api/notifications/6/read", headers=proof).status_code == 404
    mine_as_bob = http.post("/api/notifications/2/read", params={"user_id": 2}, headers=proof)
    assert mine_as_bob.status_code == 403
