"""Category subscriptions: the audit's three run_async() call sites."""

from __future__ import annotations

import httpx
import pytest

from shared.categories import CATEGORIES


def subscribed(client: httpx.Client, user_id: int) -> set[str]:
    body = client.get("/api/subscriptions", params={"user_id": user_id}).json()
    return {item["category"] for item in body["subscriptions"]}


def test_subscriptions_list_every_category_with_a_flag(client: httpx.Client) -> None:
    response = client.get("/api/subscriptions", params={"user_id": 1})
    assert response.status_code == 200
    body = response.json()
    assert body["user_id"] == 1
    mine = {item["category"] for item in body["subscriptions"]}
    assert mine  # the demo user has some
    assert all(item["created_at"].endswith("Z") for item in body["subscriptions"])
    assert [choice["name"] for choice in body["categories"]] == list(CATEGORIES)
    assert {c["name"] for c in body["categories"] if c["subscribed"]} == mine


def test_subscribe_is_idempotent_and_unsubscribe_removes(client: httpx.Client) -> None:
    change = {"user_id": 4, "category": "world", "action": "subscribe"}
    for _ in range(2):
        response = client.post("/api/subscriptions/update", json=change)
        assert response.status_code == 200
        assert response.json() == {"success": True, "category": "world", "subscribed": True}
    listed = client.get("/api/subscriptions", params={"user_id": 4}).json()["subscriptions"]
    assert [item["category"] for item in listed].count("world") == 1

    change["action"] = "unsubscribe"
    response = client.post("/api/subscriptions/update", json=change)
    assert response.json() == {"success": True, "category": "world", "subscribed": False}
    assert "world" not in subscribed(client, 4)


def test_delete_subscription_then_404_when_it_is_gone(client: httpx.Client) -> None:
    category = sorted(subscribed(client, 1))[0]
    response = client.delete(f"/api/subscriptions/{category}", params={"user_id": 1})
    assert response.status_code == 200
    assert response.json() == {"success": True}
    assert category not in subscribed(client, 1)
    again = client.delete(f"/api/subscriptions/{category}", params={"user_id": 1})
    assert again.status_code == 404
    assert again.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        (
            {"user_id": 1, "category": "bitcoin", "action": "subscribe"},
            400,
            "invalid_parameter",
            "category",
        ),
        (
            {"user_id": 1, "category": "tech", "action": "follow"},
            400,
            "invalid_parameter",
            "action",
        ),
        (
            {"user_id": "1", "category": "tech", "action": "subscribe"},
            400,
            "invalid_parameter",
            "user_id",
        ),
        ({"category": "tech", "action": "subscribe"}, 400, "invalid_parameter", "user_id"),
        ({"user_id": 999, "category": "tech", "action": "subscribe"}, 404, "not_found", None),
        ({"user_id": 5, "category": "tech", "action": "subscribe"}, 403, "forbidden", None),
        ([1, 2], 400, "invalid_json", None),
    ],
)
def test_bad_updates_are_refused_in_the_catalogue_shape(
    client: httpx.Client, body: object, status: int, code: str, field: str | None
) -> None:
    response = client.post("/api/subscriptions/update", json=body)
    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == code
    assert error.get("field") == field


def test_malformed_json_is_invalid_json(client: httpx.Client) -> None:
    response = client.post(
        "/api/subscriptions/update",
        content=b'{"user_id": 1,',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json() == {
        "error": {"code": "invalid_json", "message": "request body is not valid JSON"}
    }


def test_missing_user_id_and_unknown_category_on_the_list_and_delete(client: httpx.Client) -> None:
    assert client.get("/api/subscriptions").json()["error"]["field"] == "user_id"
    response = client.delete("/api/subscriptions/cooking", params={"user_id": 1})
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "category"


def test_body_over_one_mebibyte_is_413(client: httpx.Client) -> None:
    padding = "x" * (1024 * 1024 + 10)
    response = client.post(
        "/api/subscriptions/update",
        json={"user_id": 1, "category": "tech", "action": "subscribe", "pad": padding},
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
