"""Request rules for the app config endpoints, and bounds on free-form JSON values."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel

from shared.contracts.documented import matching

CONFIG_KEY = re.compile(r"[a-z0-9_.-]{1,100}")
MAX_CONFIG_VALUE_BYTES = 64 * 1024
MAX_JSON_DEPTH = 16


def json_value_problem(value: Any, *, max_bytes: int) -> str | None:
    """Why `value` cannot be stored as JSON (NaN, too deep, too big), or None.

    Python's JSON parser accepts `NaN` and `Infinity`, which PostgreSQL's json type and
    strict clients refuse; depth is checked without recursion before anything serializes.
    """
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            return f"must be nested at most {MAX_JSON_DEPTH} levels deep"
        if isinstance(item, float) and not math.isfinite(item):
            return "must not contain NaN or Infinity"
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
    size = len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())
    if size > max_bytes:
        return f"must be at most {max_bytes} bytes as JSON"
    return None


def bounded_json(max_bytes: int) -> Callable[[Any], Any]:
    """An after-validator refusing JSON values `json_value_problem` objects to."""

    def check(value: Any) -> Any:
        problem = json_value_problem(value, max_bytes=max_bytes)
        if problem:
            raise ValueError(problem)
        return value

    return check


def _config_key(value: str) -> str:
    if not CONFIG_KEY.fullmatch(value):
        raise ValueError("must be 1 to 100 characters of a-z, 0-9, '_', '.' and '-'")
    return value


class ConfigKeyPath(BaseModel):
    key: Annotated[str, AfterValidator(_config_key), matching(f"^{CONFIG_KEY.pattern}$")]


class ConfigValueUpdate(BaseModel):
    """`{"value": ...}`: any JSON value, null included; the field itself is required."""

    value: Annotated[Any, AfterValidator(bounded_json(MAX_CONFIG_VALUE_BYTES))]
