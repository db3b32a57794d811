from __future__ import annotations

import json
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel

from async_api.config import service
from async_api.config.schemas import ConfigEntry, Features, PublicConfig, Reloaded
from async_api.deps import Admin, RuntimeDep
from async_api.errors import error_responses
from shared.contracts.config import ConfigKeyPath, ConfigValueUpdate
from shared.contracts.validation import BODY_NOT_JSON, BODY_NOT_OBJECT, validate
from shared.errors import ApiError

router = APIRouter(tags=["config"])
M = TypeVar("M", bound=BaseModel)


async def _json_body(request: Request, model: type[M]) -> M:
    """The body, parsed as the legacy half parses it (`legacy_flask.validation.body`).

    Read inside the route rather than declared as a parameter: FastAPI decodes a declared
    body before any dependency or path parameter is checked, so a malformed body would
    answer 400 ahead of the admin check's 401/503 and the key's 400, unlike legacy.
    """
    data = await request.body()
    mimetype = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    is_json = mimetype == "application/json" or (
        mimetype.startswith("application/") and mimetype.endswith("+json")
    )
    if not data or (mimetype and not is_json):
        raise ApiError("invalid_json", BODY_NOT_OBJECT)
    try:
        payload = json.loads(data)
    except Exception:  # the same catch-all as legacy (bad UTF-8, nesting too deep, ...)
        raise ApiError("invalid_json", BODY_NOT_JSON) from None
    return validate(model, payload)


@router.get(
    "/api/config",
    name="config.public_config",
    response_model=PublicConfig,
    responses=error_responses(503),
)
async def public_config(rt: RuntimeDep) -> dict[str, Any]:
    return await service.public_config(rt=rt)


@router.get(
    "/api/config/features",
    name="config.features",
    response_model=Features,
    responses=error_responses(503),
)
async def features(rt: RuntimeDep) -> dict[str, Any]:
    return await service.features(rt=rt)


@router.get(
    "/api/config/{key}",
    name="config.get_value",
    response_model=ConfigEntry,
    responses=error_responses(400, 404, 503),
)
async def get_value(rt: RuntimeDep, path: Annotated[ConfigKeyPath, Path()]) -> dict[str, Any]:
    return await service.get_value(rt=rt, key=path.key)


@router.put(
    "/api/config/{key}",
    name="config.set_value",
    response_model=ConfigEntry,
    responses=error_responses(400, 401, 503),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": ConfigValueUpdate.model_json_schema()}},
        }
    },
)
async def set_value(
    actor: Admin, rt: RuntimeDep, path: Annotated[ConfigKeyPath, Path()], request: Request
) -> dict[str, Any]:
    update = await _json_body(request, ConfigValueUpdate)
    return await service.set_value(rt=rt, key=path.key, value=update.value, actor=actor)


@router.post(
    "/api/config/reload",
    name="config.reload",
    response_model=Reloaded,
    responses=error_responses(401, 503),
)
async def reload(actor: Admin, rt: RuntimeDep) -> dict[str, Any]:
    return await service.reload(rt=rt)
