from __future__ import annotations

from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel

from async_api.bodies import json_body, json_body_doc
from async_api.config import service
from async_api.config.schemas import ConfigEntry, Features, PublicConfig, Reloaded
from async_api.deps import Admin, RuntimeDep
from async_api.errors import error_responses
from shared.contracts.config import ConfigKeyPath, ConfigValueUpdate

router = APIRouter(tags=["config"])
M = TypeVar("M", bound=BaseModel)


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
    openapi_extra=json_body_doc(ConfigValueUpdate),
)
async def set_value(
    actor: Admin, rt: RuntimeDep, path: Annotated[ConfigKeyPath, Path()], request: Request
) -> dict[str, Any]:
    update = await json_body(request, ConfigValueUpdate)
    return await service.set_value(rt=rt, key=path.key, value=update.value, actor=actor)


@router.post(
    "/api/config/reload",
    name="config.reload",
    response_model=Reloaded,
    responses=error_responses(401, 503),
)
async def reload(actor: Admin, rt: RuntimeDep) -> dict[str, Any]:
    return await service.reload(rt=rt)
