"""The async half's `/openapi.json`, said in the catalogue's terms.

FastAPI's document is edited once, when first asked for:

- no 422s: validation errors are the catalogue's 400, in its error shape;
- credentials are security schemes, not parameters a client would fill with data: the
  admin bearer token, Telegram initData, the webhook's secret token;
- a query parameter whose schema is an array is one comma-separated value
  (`style: form, explode: false`), as both halves read it;
- a `maximum` past 2**53 - 1 is written as 2**53 - 1: clients and generators read JSON
  numbers as doubles, and Telegram ids (the 64-bit columns) have at most 52 bits.

What each parameter and body accepts comes from the request contracts themselves
(`shared.contracts`, with `shared.contracts.documented` for rules checked in code).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from async_api.errors import ErrorResponse
from shared.identity import INIT_DATA_HEADER
from shared.telegram_webhook import WEBHOOK_SECRET_HEADER

JSON_SAFE_INTEGER = 2**53 - 1
ERROR_SCHEMA = {"$ref": "#/components/schemas/ErrorResponse"}
SECURITY_SCHEMES: dict[str, dict[str, Any]] = {
    "AdminToken": {
        "type": "http",
        "scheme": "bearer",
        "description": "ADMIN_TOKEN; without it configured the admin endpoints answer 503",
    },
    "TelegramInitData": {
        "type": "apiKey",
        "in": "header",
        "name": INIT_DATA_HEADER,
        "description": "Telegram WebApp initData; required when TELEGRAM_BOT_TOKEN is set, "
        "otherwise `user_id` names the user",
    },
    "TelegramWebhookSecret": {
        "type": "apiKey",
        "in": "header",
        "name": WEBHOOK_SECRET_HEADER,
        "description": "TELEGRAM_WEBHOOK_SECRET; required when it is set",
    },
}
# Header parameter -> the scheme it is. The admin token is always required; the Telegram
# credentials only when their setting is set (`{}` in an operation's `security`).
_HEADER_SCHEMES = {
    "authorization": "AdminToken",
    INIT_DATA_HEADER.lower(): "TelegramInitData",
    WEBHOOK_SECRET_HEADER.lower(): "TelegramWebhookSecret",
}


def catalogue_openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema is None:
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                _catalogue_errors(operation)
                _credentials(operation)
                _comma_lists(operation)
        components = schema.setdefault("components", {})
        models = components.setdefault("schemas", {})
        models.pop("HTTPValidationError", None)
        models.pop("ValidationError", None)
        models.setdefault(
            "ErrorResponse",
            ErrorResponse.model_json_schema(ref_template="#/components/schemas/{model}"),
        )
        for name, definition in models["ErrorResponse"].pop("$defs", {}).items():
            models.setdefault(name, definition)
        components["securitySchemes"] = SECURITY_SCHEMES
        _json_safe_maximums(schema)
        app.openapi_schema = schema
    return app.openapi_schema


def _catalogue_errors(operation: dict[str, Any]) -> None:
    responses = operation.get("responses", {})
    if responses.pop("422", None) is not None and "400" not in responses:
        responses["400"] = {
            "description": "Invalid parameter or body",
            "content": {"application/json": {"schema": ERROR_SCHEMA}},
        }
    if "401" in responses and "429" not in responses:  # shared/rate_limit.py
        responses["429"] = {
            "description": "Too many failed credential checks from this address; see Retry-After",
            "content": {"application/json": {"schema": ERROR_SCHEMA}},
        }


def _credentials(operation: dict[str, Any]) -> None:
    parameters = operation.get("parameters", [])
    credential = [
        p for p in parameters if p["in"] == "header" and p["name"].lower() in _HEADER_SCHEMES
    ]
    kept = [p for p in parameters if p not in credential]
    if kept:
        operation["parameters"] = kept
    else:
        operation.pop("parameters", None)
    schemes = [_HEADER_SCHEMES[p["name"].lower()] for p in credential]
    if "AdminToken" in schemes:
        operation["security"] = [{"AdminToken": []}]
    elif schemes:
        operation["security"] = [{name: []} for name in schemes] + [{}]


def _comma_lists(operation: dict[str, Any]) -> None:
    for parameter in operation.get("parameters", []):
        schema = parameter.get("schema", {})
        options = schema.get("anyOf", [schema])
        if parameter["in"] == "query" and any(o.get("type") == "array" for o in options):
            parameter["style"], parameter["explode"] = "form", False


def _json_safe_maximums(node: Any) -> None:
    if isinstance(node, dict):
        # (FastAPI's document model holds bounds as floats: 2**63 - 1 is already 2.0**63.)
        if isinstance(node.get("maximum"), int | float) and node["maximum"] > JSON_SAFE_INTEGER:
            node["maximum"] = JSON_SAFE_INTEGER
        for child in node.values():
            _json_safe_maximums(child)
    elif isinstance(node, list):
        for child in node:
            _json_safe_maximums(child)
