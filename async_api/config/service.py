"""App config for the async half: the same cache and rules as legacy (`shared.app_config`)."""

from __future__ import annotations

from typing import Any

from shared import app_config
from shared.runtime import Runtime


async def public_config(*, rt: Runtime) -> dict[str, Any]:
    return await app_config.public_config(rt)


async def features(*, rt: Runtime) -> dict[str, Any]:
    return {"features": await app_config.feature_flags(rt)}


async def get_value(*, rt: Runtime, key: str) -> dict[str, Any]:
    return await app_config.config_value(rt, key=key)


async def set_value(*, rt: Runtime, key: str, value: Any, actor: str) -> dict[str, Any]:
    return await app_config.set_config_value(rt, key=key, value=value, actor=actor)


async def reload(*, rt: Runtime) -> dict[str, Any]:
    return await app_config.reload_config(rt)
