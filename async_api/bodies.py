"""JSON bodies read inside a route, for routes whose checks must come before the body.

FastAPI decodes a declared body before it runs any dependency or validates the path, so
malformed JSON would answer 400 ahead of the admin check's 401/503 (and the path's 400),
where the legacy half checks admin, path, query, then the body. Such routes read the body
with `json_body` (the same rules and messages as `legacy_flask.validation.body`) and keep
their OpenAPI request body through `json_body_doc`.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel

from shared.contracts.validation import BODY_NOT_JSON, BODY_NOT_OBJECT, validate
from shared.errors import ApiError

M = TypeVar("M", bound=BaseModel)


def json_body_doc(model: type[BaseModel]) -> dict[str, Any]:
    """`openapi_extra` describing `model` as the required JSON request body."""
    schema = model.model_json_schema()
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


async def json_body(request: Request, model: type[M]) -> M:
    data = await request.body()
    mimetype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    is_json = mimetype == "application/json" or (
        mimetype.startswith("application/") and mimetype.endswith("+json")
    )
    if not data or (mimetype and not is_json):
        raise ApiError("invalid_json", BODY_NOT_OBJECT)
    try:
        payload = json.loads(data)
    except Exception:  # the legacy half's catch-all too (bad UTF-8, nesting too deep, ...)
        raise ApiError("invalid_json", BODY_NOT_JSON) from None
    return validate(model, payload)
