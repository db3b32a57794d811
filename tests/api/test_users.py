"""POST /api/users, GET /api/users/<id>, GET and PUT /api/users/<id>/preferences."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from shared.telegram_auth import sign_init_data
from tests.support.gateway_server import GatewayServer

StartGateway = Callable[..., tuple[GatewayServer, httpx.Client]]
BOT_TOKEN = "123456:test-bot-token"
ALICE = {"id": 100000001, "username": "alice"}  # users.id 1 in the demo data
NEWCOMER = {"id": 300000001, "username": "newcomer"}
USER_KEYS = {"id", "telegram_id", "username", "language", "is_blocked", "created_at"}
USER_KEYS |= {"last_seen_at"}


def proof(user: dict) -> dict[str, str]:
    return {"X-Telegram-Init-Data": sign_init_data(user, bot_token=BOT_TOKEN)}


def error(response: httpx.Response) -> dict:
    return response.json()["error"]


# --- POST /api/users ---------------------------------------------------------------------


def test_new_telegram_user_is_created_with_201(client: httpx.Client) -> None:
    response = client.post(
        "/api/users", json={"telegram_id": 300000001, "username": "newcomer", "language": "pt-BR"}
    )
    assert response.status_code == 201
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["created"] is True
    user = body["user"]
    assert set(user) == USER_KEYS
    assert user["id"] == 6  # after the five demo users
    assert user["telegram_id"] == 300000001
    assert (user["username"], user["language"], user["is_blocked"]) == ("newcomer", "pt-BR", False)
    assert user["created_at"].endswith("Z") and user["last_seen_at"] == user["created_at"]


def test_language_defaults_to_english(client: httpx.Client) -> None:
    user = client.post("/api/users", json={"telegram_id": 300000002}).json()["user"]
    assert (user["username"], user["language"]) == (None, "en")


def test_existing_telegram_user_is_returned_with_200(client: httpx.Client) -> None:
    response = client.post("/api/users", json={"telegram_id": 100000001, "language": "fr"})
    assert response.status_code == 200
    body = response.json()
    assert body["created"] is False
    assert (body["user"]["id"], body["user"]["username"]) == (1, "alice")
    assert body["user"]["language"] == "en"  # get, not update: the stored language stays


def test_existing_user_gets_a_new_username(client: httpx.Client) -> None:
    body = client.post("/api/users", json={"telegram_id": 100000002, "username": "bobby"}).json()
    assert (body["user"]["id"], body["user"]["username"]) == (2, "bobby")
    assert client.get("/api/users/2").json()["user"]["username"] == "bobby"


def test_blocked_user_is_403(client: httpx.Client) -> None:
    response = client.post("/api/users", json={"telegram_id": 100000005})
    assert response.status_code == 403
    assert error(response) == {"code": "forbidden", "message": "this user is blocked"}


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ({}, "telegram_id", "telegram_id is required"),
        ({"telegram_id": "100"}, "telegram_id", "telegram_id must be an integer"),
        ({"telegram_id": 0}, "telegram_id", "telegram_id must be greater than or equal to 1"),
        (
            {"telegram_id": 2**63},
            "telegram_id",
            "telegram_id must be less than or equal to 9223372036854775807",
        ),
        ({"telegram_id": 7, "username": 7}, "username", "username must be a string"),
        (
            {"telegram_id": 7, "username": "x" * 101},
            "username",
            "username must be at most 100 characters",
        ),
        (
            {"telegram_id": 7, "language": "English"},
            "language",
            "language must be a language code such as en or pt-BR",
        ),
    ],
)
def test_bad_new_user_is_400_naming_the_field(
    client: httpx.Client, payload: dict, field: str, message: str
) -> None:
    response = client.post("/api/users", json=payload)
    assert response.status_code == 400
    assert error(response) == {"code": "invalid_parameter", "message": message, "field": field}


def test_body_that_is_not_json_is_400(client: httpx.Client) -> None:
    response = client.post(
        "/api/users", content=b"telegram_id=7", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert error(response)["code"] == "invalid_json"


def test_with_a_bot_token_only_that_telegram_user_may_register(
    start_gateway: StartGateway,
) -> None:
    _, http = start_gateway(telegram_bot_token=BOT_TOKEN)
    new = {"telegram_id": NEWCOMER["id"], "username": "newcomer"}
    assert http.post("/api/users", json=new).status_code == 401
    forged = {"X-Telegram-Init-Data": sign_init_data(NEWCOMER, bot_token="other:token")}
    assert http.post("/api/users", json=new, headers=forged).status_code == 401
    someone_else = http.post("/api/users", json=new, headers=proof(ALICE))
    assert someone_else.status_code == 403
    assert error(someone_else)["message"] == "telegram_id names another Telegram user"
    assert http.post("/api/users", json=new, headers=proof(NEWCOMER)).status_code == 201
    assert http.post("/api/users", json=new, headers=proof(NEWCOMER)).status_code == 200


# --- GET /api/users/<id> -----------------------------------------------------------------


def test_profile_counts_subscriptions_bookmarks_and_digests(client: httpx.Client) -> None:
    response = client.get("/api/users/1")
    assert response.status_code == 200
    user = response.json()["user"]
    assert set(user) == USER_KEYS | {"subscriptions_count", "bookmarks_count", "digests_count"}
    assert (user["id"], user["username"], user["telegram_id"]) == (1, "alice", 100000001)
    counts = (user["subscriptions_count"], user["bookmarks_count"], user["digests_count"])
    assert counts == (3, 4, 2)


def test_profile_counts_follow_writes(client: httpx.Client) -> None:
    before = client.get("/api/users/4").json()["user"]
    assert (before["subscriptions_count"], before["bookmarks_count"]) == (2, 0)
    assert before["digests_count"] == 0
    client.post("/api/bookmarks", json={"user_id": 4, "news_id": 3})
    client.post("/api/digest/generate", json={"user_id": 4, "limit": 2})
    after = client.get("/api/users/4").json()["user"]
    assert (after["bookmarks_count"], after["digests_count"]) == (1, 1)


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/api/users/999", 404, "not_found"),
        ("/api/users/5", 403, "forbidden"),
        ("/api/users/0", 400, "invalid_parameter"),
        ("/api/users/99999999999", 400, "invalid_parameter"),
        ("/api/users/abc", 404, "not_found"),
    ],
)
def test_unknown_blocked_and_bad_user_ids(
    client: httpx.Client, path: str, status: int, code: str
) -> None:
    response = client.get(path)
    assert response.status_code == status
    assert error(response)["code"] == code


def test_out_of_range_user_id_names_the_field(client: httpx.Client) -> None:
    assert error(client.get("/api/users/0")) == {
        "code": "invalid_parameter",
        "message": "user_id must be greater than or equal to 1",
        "field": "user_id",
    }


def test_with_a_bot_token_a_profile_is_only_your_own(start_gateway: StartGateway) -> None:
    _, http = start_gateway(telegram_bot_token=BOT_TOKEN)
    assert http.get("/api/users/1").status_code == 401
    assert http.get("/api/users/1", headers=proof(ALICE)).json()["user"]["id"] == 1
    assert http.get("/api/users/2", headers=proof(ALICE)).status_code == 403
    assert http.get("/api/users/1/preferences", headers=proof(ALICE)).status_code == 200
    assert http.get("/api/users/2/preferences", headers=proof(ALICE)).status_code == 403
    change = http.put("/api/users/2/preferences", json={"tone": "critical"}, headers=proof(ALICE))
    assert change.status_code == 403


# --- GET /api/users/<id>/preferences -----------------------------------------------------


def test_stored_preferences(client: httpx.Client) -> None:
    response = client.get("/api/users/2/preferences")
    assert response.status_code == 200
    assert response.json() == {
        "user_id": 2,
        "style": "casual",
        "tone": "critical",
        "length": "long",
        "audience": "general",
        "language": "ru",
        "notify_time": "08:00",
        "timezone": "Europe/Moscow",
    }


def test_defaults_when_unset_use_the_users_language(client: httpx.Client) -> None:
    assert client.get("/api/users/4/preferences").json() == {
        "user_id": 4,
        "style": "brief",
        "tone": "neutral",
        "length": "medium",
        "audience": "general",
        "language": "de",
        "notify_time": "08:00",
        "timezone": "UTC",
    }


def test_preferences_of_unknown_or_blocked_user(client: httpx.Client) -> None:
    assert client.get("/api/users/999/preferences").status_code == 404
    assert client.get("/api/users/5/preferences").status_code == 403


# --- PUT /api/users/<id>/preferences -----------------------------------------------------


def test_partial_update_keeps_the_rest_and_returns_everything(client: httpx.Client) -> None:
    response = client.put(
        "/api/users/4/preferences",
        json={"tone": "optimistic", "notify_time": "21:30", "timezone": "Europe/Berlin"},
    )
    assert response.status_code == 200
    expected = {
        "user_id": 4,
        "style": "brief",
        "tone": "optimistic",
        "length": "medium",
        "audience": "general",
        "language": "de",
        "notify_time": "21:30",
        "timezone": "Europe/Berlin",
    }
    assert response.json() == expected
    assert client.get("/api/users/4/preferences").json() == expected
    again = client.put("/api/users/4/preferences", json={"style": "newsletter"}).json()
    assert again == {**expected, "style": "newsletter"}


def test_null_resets_a_field_to_its_default(client: httpx.Client) -> None:
    body = client.put(
        "/api/users/2/preferences", json={"style": None, "timezone": None, "language": None}
    ).json()
    assert (body["style"], body["timezone"], body["language"]) == ("brief", "UTC", "ru")
    assert (body["tone"], body["length"]) == ("critical", "long")


def test_empty_update_changes_nothing(client: httpx.Client) -> None:
    before = client.get("/api/users/1/preferences").json()
    response = client.put("/api/users/1/preferences", json={"colour": "blue"})
    assert response.status_code == 200
    assert response.json() == before


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        (
            {"style": "poem"},
            "style",
            "style must be one of: 'brief', 'analytical', 'casual' or 'newsletter'",
        ),
        (
            {"audience": "kids"},
            "audience",
            "audience must be one of: 'general', 'investors', 'tech' or 'students'",
        ),
        ({"notify_time": "24:00"}, "notify_time", None),
        ({"notify_time": "8:00"}, "notify_time", None),
        ({"notify_time": 800}, "notify_time", "notify_time must be a string"),
        (
            {"timezone": "Mars/Olympus_Mons"},
            "timezone",
            "timezone must be an IANA time zone name such as Europe/Berlin",
        ),
        ({"timezone": "localtime"}, "timezone", None),
        ({"language": "EN"}, "language", None),
        ({"tone": 1}, "tone", None),
    ],
)
def test_bad_preferences_are_400_naming_the_field(
    client: httpx.Client, payload: dict, field: str, message: str | None
) -> None:
    response = client.put("/api/users/1/preferences", json=payload)
    assert response.status_code == 400
    assert error(response)["field"] == field
    if message:
        assert error(response)["message"] == message
    assert client.get("/api/users/1/preferences").json()["style"] == "analytical"


def test_notify_time_message(client: httpx.Client) -> None:
    response = client.put("/api/users/1/preferences", json={"notify_time": "25:61"})
    assert (
        error(response)["message"] == "notify_time must be a time of day as HH:MM, 00:00 to 23:59"
    )


def test_path_is_checked_before_the_body(client: httpx.Client) -> None:
    response = client.put("/api/users/0/preferences", json={"style": "poem"})
    assert error(response)["field"] == "user_id"


def test_update_for_unknown_or_blocked_user(client: httpx.Client) -> None:
    assert client.put("/api/users/999/preferences", json={"tone": "neutral"}).status_code == 404
    assert client.put("/api/users/5/preferences", json={"tone": "neutral"}).status_code == 403
    not_object = client.put("/api/users/1/preferences", json=["tone"])
    assert (not_object.status_code, error(not_object)["code"]) == (400, "invalid_json")
