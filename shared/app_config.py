"""App config (the `app_config` table) as both halves read and write it.

Reads go through a per-process cache in `Runtime.caches`. Every function here is a
coroutine, so the cache is only ever touched on the process's one event loop (legacy
views reach it through the loop bridge) and needs no lock. A write in this process drops
the cache; `POST /api/config/reload` drops it too; other worker processes see a change
after at most `CACHE_SECONDS`.

`app_config` holds what the frontend may see (feature flags, digest defaults, a
maintenance message): any key is readable without auth. Secrets and everything from the
environment live in `Settings` and are never served from here.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from typing import Any

from shared.database.queries.config import all_config, put_config
from shared.digest import DIGEST_DEFAULTS, DIGEST_OPTIONS
from shared.errors import invalid, not_found
from shared.runtime import Runtime

CACHE_NAME = "app_config"
CACHE_SECONDS = 30.0
FEATURE_NAME_MAX = 64
MAINTENANCE_MESSAGE_MAX = 500


@dataclass
class _ConfigCache:
    values: dict[str, Any] | None = None
    expires_at: float = 0.0
    # Bumped by every drop: a load that started before it must not store what it read.
    generation: int = 0

    def drop(self) -> None:
        self.values = None
        self.generation += 1


def _cache(rt: Runtime) -> _ConfigCache:
    cache = rt.caches.get(CACHE_NAME)
    if not isinstance(cache, _ConfigCache):
        cache = rt.caches[CACHE_NAME] = _ConfigCache()
    return cache


async def _values(rt: Runtime) -> dict[str, Any]:
    cache = _cache(rt)
    if cache.values is not None and time.monotonic() < cache.expires_at:
        return cache.values
    generation = cache.generation
    values = await all_config(rt.db)
    if cache.generation == generation:
        cache.values, cache.expires_at = values, time.monotonic() + CACHE_SECONDS
    return values


def _features(value: Any) -> dict[str, bool]:
    """Only boolean entries are flags (rows written before validation are tolerated)."""
    if not isinstance(value, dict):
        return {}
    return {name: flag for name, flag in value.items() if isinstance(flag, bool)}


def _digest_defaults(value: Any) -> dict[str, str]:
    stored = value if isinstance(value, dict) else {}
    return {
        option: stored[option] if stored.get(option) in choices else DIGEST_DEFAULTS[option]
        for option, choices in DIGEST_OPTIONS.items()
    }


async def public_config(rt: Runtime) -> dict[str, Any]:
    """What the frontend needs at start-up, with code defaults where a key is unset."""
    values = await _values(rt)
    message = values.get("maintenance_message")
    return {
        "features": _features(values.get("features")),
        "digest_defaults": _digest_defaults(values.get("digest_defaults")),
        "digest_options": {option: list(choices) for option, choices in DIGEST_OPTIONS.items()},
        "maintenance_message": message if isinstance(message, str) else None,
    }


async def feature_flags(rt: Runtime) -> dict[str, bool]:
    return _features((await _values(rt)).get("features"))


async def config_value(rt: Runtime, *, key: str) -> dict[str, Any]:
    values = await _values(rt)
    if key not in values:
        raise not_found("config key")
    # A copy: the cached value is shared by every request of this process.
    return {"key": key, "value": copy.deepcopy(values[key])}


def _check_known_key(key: str, value: Any) -> None:
    """Keys the API itself interprets must hold values it can use."""
    if key == "features":
        if not isinstance(value, dict) or not all(
            0 < len(name) <= FEATURE_NAME_MAX and isinstance(flag, bool)
            for name, flag in value.items()
        ):
            raise invalid("value", "must be an object of feature names to booleans")
    elif key == "digest_defaults":
        if not isinstance(value, dict) or not all(
            option in DIGEST_OPTIONS and choice in DIGEST_OPTIONS[option]
            for option, choice in value.items()
        ):
            raise invalid("value", "must be an object of digest options to allowed choices")
    elif key == "maintenance_message":
        if value is not None and not (
            isinstance(value, str) and len(value) <= MAINTENANCE_MESSAGE_MAX
        ):
            raise invalid(
                "value", f"must be null or at most {MAINTENANCE_MESSAGE_MAX} characters of text"
            )


async def set_config_value(rt: Runtime, *, key: str, value: Any, actor: str) -> dict[str, Any]:
    _check_known_key(key, value)
    await put_config(rt.db, key=key, value=value, actor=actor)
    _cache(rt).drop()
    return {"key": key, "value": value}


async def reload_config(rt: Runtime) -> dict[str, bool]:
    _cache(rt).drop()
    return {"reloaded": True}
