"""`/openapi.json` and `/docs` through the gateway describe every async route, with its
parameters, bodies and error responses in the catalogue's shape (never a 422)."""

from __future__ import annotations

import json

import httpx

from gateway.lint import fastapi_path
from gateway.manifest import load_manifest
from shared.categories import CATEGORIES
from tests.conftest import ROOT, make_settings
from tests.support.gateway_server import GatewayServer

# The catalogue gives these a 503 body of their own: the health report, saying what is down.
OWN_503_BODY = {"api.health", "metrics.deep_health"}


def test_openapi_documents_every_route_with_catalogue_errors(database_url: str) -> None:
    with GatewayServer(make_settings(database_url)) as server:
        with httpx.Client(base_url=server.url) as client:
            document = client.get("/openapi.json").json()
            docs = client.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    paths = document["paths"]
    manifest = load_manifest(ROOT / "migration_status.yaml")
    for entry in manifest.entries.values():
        path = fastapi_path(entry.path).replace(":int}", "}")
        operation = paths[path][entry.method.lower()]
        responses = operation["responses"]
        assert "422" not in responses, entry.id
        if operation.get("parameters") or operation.get("requestBody"):
            assert "400" in responses, f"{entry.id} documents no 400"
        for status, response in responses.items():
            if (entry.id, status) in {(route, "503") for route in OWN_503_BODY}:
                continue
            if status.startswith(("4", "5")) and "application/json" in response.get("content", {}):
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorResponse"}, entry.id
    assert "HTTPValidationError" not in document["components"]["schemas"]


def test_openapi_says_what_the_validators_enforce(database_url: str) -> None:
    with GatewayServer(make_settings(database_url)) as server:
        with httpx.Client(base_url=server.url) as client:
            document = client.get("/openapi.json").json()
    paths, models = document["paths"], document["components"]["schemas"]

    # Credentials are security schemes, never parameters a generated client fills with data.
    assert set(document["components"]["securitySchemes"]) == {
        "AdminToken",
        "TelegramInitData",
        "TelegramWebhookSecret",
    }
    for operations in paths.values():
        for operation in operations.values():
            headers = {p["name"] for p in operation.get("parameters", []) if p["in"] == "header"}
            assert not headers & {"X-Telegram-Init-Data", "X-Telegram-Bot-Api-Secret-Token"}
    assert paths["/admin/api/sources"]["post"]["security"] == [{"AdminToken": []}]
    assert {"TelegramInitData": []} in paths["/api/subscriptions"]["get"]["security"]

    # Rules checked in code are in the schema: enums, patterns, non-null optional fields.
    assert models["SubscriptionUpdate"]["properties"]["category"]["enum"] == list(CATEGORIES)
    timezone = models["PreferencesUpdate"]["properties"]["timezone"]["anyOf"][0]
    assert "Europe/Berlin" in timezone["enum"] and "localtime" not in timezone["enum"]
    assert models["NewsFeedback"]["properties"]["value"]["enum"] == [1, -1]
    assert "pattern" in models["NewUser"]["properties"]["language"]["anyOf"][0]
    update = paths["/api/events/{event_id}"]["put"]["requestBody"]["content"]["application/json"]
    assert "anyOf" not in update["schema"]["properties"]["title"]  # null is refused
    [category] = [p for p in paths["/api/news"]["get"]["parameters"] if p["name"] == "category"]
    assert (category["style"], category["explode"]) == ("form", False)
    assert category["schema"]["anyOf"][0]["items"]["enum"][:5] == list(CATEGORIES)
    # Past 2**53 JSON numbers are doubles to most clients: no bound says more than that.
    assert '"maximum": 9223372036854775807' not in json.dumps(document)
