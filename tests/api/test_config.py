"""/api/config: public config, feature flags, key reads, admin writes and the config cache."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from shared.database.demo import CONFIG
from shared.database.rows import utcnow
from shared.database.schema import app_config, audit_log
from shared.digest import DIGEST_OPTIONS
from tests.conftest import ADMIN_TOKEN, WEBHOOK_SECRET
from tests.support.gateway_server import GatewayServer

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
DEMO_CONFIG = {key: value for key, value, _ in CONFIG}


@pytest.fixture
def client(client: httpx.Client) -> Iterator[httpx.Client]:
    """The shared client, with this process's config cache dropped before and after.

    Resetting the demo data does not touch the gateway's in-memory config cache, so a write
    by one test would otherwise still be served to the next.
    """
    assert client.post("/api/config/reload", headers=ADMIN).status_code == 200
    yield client
    client.post("/api/config/reload", headers=ADMIN)


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    return response.json()


def error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    return response.json()["error"]


def put(client: httpx.Client, key: str, value: Any, **kwargs: Any) -> httpx.Response:
    headers = {**ADMIN, **kwargs.pop("headers", {})}
    return client.put(f"/api/config/{key}", json={"value": value}, headers=headers, **kwargs)


def db_rows(server: GatewayServer, statement: sa.Select) -> list[dict[str, Any]]:
    return server.run(server.gateway.bridge.resource.db.fetch_all(statement))


# --- reads -------------------------------------------------------------------------------


def test_public_config_has_flags_digest_defaults_and_options(client: httpx.Client) -> None:
    assert ok(client.get("/api/config")) == {
        "features": DEMO_CONFIG["features"],
        "digest_defaults": DEMO_CONFIG["digest_defaults"],
        "digest_options": {option: list(choices) for option, choices in DIGEST_OPTIONS.items()},
        "maintenance_message": "",
    }


def test_public_config_shows_no_setting_from_the_environment(client: httpx.Client) -> None:
    text = client.get("/api/config").text
    for secret in (ADMIN_TOKEN, WEBHOOK_SECRET, "sqlite", "postgresql"):
        assert secret not in text


def test_public_config_falls_back_to_code_defaults_for_unset_keys(
    client: httpx.Client, gateway: GatewayServer
) -> None:
    gateway.run(gateway.gateway.bridge.resource.db.execute(app_config.delete()))
    client.post("/api/config/reload", headers=ADMIN)
    body = ok(client.get("/api/config"))
    assert body["features"] == {}
    assert body["digest_defaults"] == {
        "style": "brief",
        "tone": "neutral",
        "length": "medium",
        "audience": "general",
    }
    assert body["maintenance_message"] is None


def test_features_are_name_to_boolean(client: httpx.Client) -> None:
    assert ok(client.get("/api/config/features")) == {"features": DEMO_CONFIG["features"]}


@pytest.mark.parametrize("key", ["digest_defaults", "maintenance_message"])
def test_get_value_returns_the_stored_json(client: httpx.Client, key: str) -> None:
    assert ok(client.get(f"/api/config/{key}")) == {"key": key, "value": DEMO_CONFIG[key]}


def test_unknown_key_is_404(client: httpx.Client) -> None:
    assert error(client.get("/api/config/no_such_key"), 404) == {
        "code": "not_found",
        "message": "config key not found",
    }


def test_reload_is_not_a_readable_key(client: httpx.Client) -> None:
    assert error(client.get("/api/config/reload"), 404)["code"] == "not_found"


@pytest.mark.parametrize("key", ["Features", "has%20space", "x" * 101, "a!b"])
def test_malformed_key_is_400_naming_key(client: httpx.Client, key: str) -> None:
    for response in (client.get(f"/api/config/{key}"), put(client, key, 1)):
        assert error(response, 400) == {
            "code": "invalid_parameter",
            "message": "key must be 1 to 100 characters of a-z, 0-9, '_', '.' and '-'",
            "field": "key",
        }


# --- writes ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        {"nested": {"list": [1, 2.5, "three", None, True]}, "unicode": "日本語 ✓"},
        [1, 2, 3],
        "text",
        42,
        0.1,
        False,
        None,
    ],
)
def test_put_creates_a_key_readable_as_the_same_json(client: httpx.Client, value: Any) -> None:
    assert ok(put(client, "ui.theme-2", value)) == {"key": "ui.theme-2", "value": value}
    assert ok(client.get("/api/config/ui.theme-2")) == {"key": "ui.theme-2", "value": value}


def test_put_replaces_and_each_write_is_audited(
    client: httpx.Client, gateway: GatewayServer
) -> None:
    before = utcnow().replace(microsecond=0)
    ok(put(client, "banner", "first"))
    ok(put(client, "banner", {"text": "second"}))
    assert ok(client.get("/api/config/banner"))["value"] == {"text": "second"}
    rows = db_rows(
        gateway,
        sa.select(audit_log)
        .where(audit_log.c.target == "app_config:banner")
        .order_by(audit_log.c.id),
    )
    assert [(row["actor"], row["action"], row["details"]) for row in rows] == [
        ("admin", "config.update", {"value": "first", "previous": None, "created": True}),
        (
            "admin",
            "config.update",
            {"value": {"text": "second"}, "previous": "first", "created": False},
        ),
    ]
    assert all(row["created_at"] >= before for row in rows)


def test_put_is_seen_at_once_by_public_config_and_features(client: httpx.Client) -> None:
    ok(client.get("/api/config"))  # warm the cache
    flags = {"digest_jobs": False, "dark_mode": True}
    ok(put(client, "features", flags))
    ok(put(client, "digest_defaults", {"style": "casual", "length": "long"}))
    assert ok(client.get("/api/config/features")) == {"features": flags}
    body = ok(client.get("/api/config"))
    assert body["features"] == flags
    assert body["digest_defaults"] == {
        "style": "casual",
        "tone": "neutral",
        "length": "long",
        "audience": "general",
    }


def test_unknown_body_fields_are_ignored(client: httpx.Client) -> None:
    response = client.put("/api/config/x", json={"value": 1, "colour": "blue"}, headers=ADMIN)
    assert ok(response) == {"key": "x", "value": 1}


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("features", {"beta": "yes"}, "value must be an object of feature names to booleans"),
        ("features", [True], "value must be an object of feature names to booleans"),
        (
            "digest_defaults",
            {"style": "poem"},
            "value must be an object of digest options to allowed choices",
        ),
        (
            "digest_defaults",
            {"colour": "blue"},
            "value must be an object of digest options to allowed choices",
        ),
        (
            "maintenance_message",
            5,
            "value must be null or at most 500 characters of text",
        ),
        (
            "maintenance_message",
            "x" * 501,
            "value must be null or at most 500 characters of text",
        ),
    ],
)
def test_keys_the_api_reads_are_validated(
    client: httpx.Client, key: str, value: Any, message: str
) -> None:
    assert error(put(client, key, value), 400) == {
        "code": "invalid_parameter",
        "message": message,
        "field": "value",
    }
    assert ok(client.get("/api/config"))[key] == DEMO_CONFIG[key]


def test_body_without_value_is_400_naming_value(client: httpx.Client) -> None:
    response = client.put("/api/config/x", json={"val": 1}, headers=ADMIN)
    assert error(response, 400) == {
        "code": "invalid_parameter",
        "message": "value is required",
        "field": "value",
    }


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"value": NaN}', "value must not contain NaN or Infinity"),
        ('{"value": [1e999]}', "value must not contain NaN or Infinity"),
        ('{"value": ' + "[" * 17 + "]" * 17 + "}", "value must be nested at most 16 levels deep"),
        (
            json.dumps({"value": "x" * 65536}),
            "value must be at most 65536 bytes as JSON",
        ),
    ],
)
def test_values_json_cannot_hold_are_400(client: httpx.Client, content: str, message: str) -> None:
    headers = {**ADMIN, "Content-Type": "application/json"}
    response = client.put("/api/config/x", content=content, headers=headers)
    assert error(response, 400) == {
        "code": "invalid_parameter",
        "message": message,
        "field": "value",
    }


@pytest.mark.parametrize(
    ("content", "content_type", "message"),
    [
        ('{"value": ', "application/json", "request body is not valid JSON"),
        ("[1, 2]", "application/json", "request body must be a JSON object"),
        ("", "application/json", "request body must be a JSON object"),
        ("value=1", "application/x-www-form-urlencoded", "request body must be a JSON object"),
    ],
)
def test_bodies_that_are_not_a_json_object_are_400(
    client: httpx.Client, content: str, content_type: str, message: str
) -> None:
    headers = {**ADMIN, "Content-Type": content_type}
    response = client.put("/api/config/x", content=content, headers=headers)
    assert error(response, 400) == {"code": "invalid_json", "message": message}


def test_key_is_checked_before_the_body(client: httpx.Client) -> None:
    response = client.put("/api/config/BAD", content="{", headers=ADMIN)
    assert error(response, 400)["field"] == "key"


# --- admin auth --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "an admin bearer token is required"),
        ({"Authorization": "Bearer wrong-token"}, "the admin token is wrong"),
        ({"Authorization": f"Basic {ADMIN_TOKEN}"}, "an admin bearer token is required"),
    ],
)
def test_writes_without_the_admin_token_are_401(
    client: httpx.Client, headers: dict[str, str], message: str
) -> None:
    # A malformed body and a bad key must not get ahead of the auth check.
    responses = [
        client.put("/api/config/x", json={"value": 1}, headers=headers),
        client.put("/api/config/x", content="{", headers=headers),
        client.put("/api/config/BAD", headers=headers),
        client.post("/api/config/reload", headers=headers),
    ]
    for response in responses:
        assert error(response, 401) == {"code": "unauthorized", "message": message}
    assert error(client.get("/api/config/x"), 404)["code"] == "not_found"


def test_writes_are_503_when_no_admin_token_is_configured(start_gateway: Any) -> None:
    _, http = start_gateway(admin_token=None)
    for response in (
        http.put("/api/config/x", json={"value": 1}, headers=ADMIN),
        http.post("/api/config/reload", headers=ADMIN),
    ):
        assert error(response, 503)["code"] == "unavailable"
    assert ok(http.get("/api/config/features"))["features"] == DEMO_CONFIG["features"]


# --- the cache ---------------------------------------------------------------------------


def test_reload_drops_the_cache_so_direct_database_changes_show(
    client: httpx.Client, gateway: GatewayServer
) -> None:
    assert ok(client.get("/api/config/maintenance_message"))["value"] == ""
    gateway.run(
        gateway.gateway.bridge.resource.db.execute(
            app_config.update()
            .where(app_config.c.key == "maintenance_message")
            .values(value="down at noon")
        )
    )
    # Still cached: reads do not go to the database on every request.
    assert ok(client.get("/api/config/maintenance_message"))["value"] == ""
    assert ok(client.post("/api/config/reload", headers=ADMIN)) == {"reloaded": True}
    assert ok(client.get("/api/config/maintenance_message"))["value"] == "down at noon"
    assert ok(client.get("/api/config"))["maintenance_message"] == "down at noon"


def test_reload_ignores_a_body(client: httpx.Client) -> None:
    response = client.post("/api/config/reload", content="{", headers=ADMIN)
    assert ok(response) == {"reloaded": True}
