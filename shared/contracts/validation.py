"""Pydantic validation errors -> the catalogue's error shape."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from shared.errors import ApiError, message

M = TypeVar("M", bound=BaseModel)

BODY_NOT_OBJECT = "request body must be a JSON object"
BODY_NOT_JSON = "request body is not valid JSON"

_KIND_BY_TYPE = {
    "missing": "missing",
    "int_parsing": "integer",
    "int_type": "integer",
    "int_from_float": "integer",
    "float_parsing": "number",
    "float_type": "number",
    "string_type": "string",
    "bool_parsing": "boolean",
    "bool_type": "boolean",
    "list_type": "list",
    "dict_type": "object",
    "model_type": "object",
    "model_attributes_type": "object",
    "datetime_parsing": "datetime",
    "datetime_type": "datetime",
    "datetime_from_date_parsing": "datetime",
}
_BOUND_BY_TYPE = {
    "greater_than_equal": ("ge", "ge"),
    "less_than_equal": ("le", "le"),
    "string_too_short": ("min_length", "min_length"),
    "string_too_long": ("max_length", "max_length"),
    "too_short": ("min_items", "min_length"),
    "too_long": ("max_items", "max_length"),
}
_SOURCES = {"query", "body", "path", "header"}


def _field(loc: Sequence[Any]) -> str | None:
    names = [str(part) for part in loc if not isinstance(part, int) and part not in _SOURCES]
    return names[0] if names else None


def api_error_from(errors: Sequence[Mapping[str, Any]]) -> ApiError:
    """The first validation error, as the catalogue's 400."""
    error = errors[0]
    kind = error["type"]
    if kind == "json_invalid":
        return ApiError("invalid_json", BODY_NOT_JSON)
    field = _field(error.get("loc", ()))
    if field is None:  # the body as a whole: missing, or not an object
        return ApiError("invalid_json", BODY_NOT_OBJECT)
    ctx = error.get("ctx") or {}
    if kind in _KIND_BY_TYPE:
        text = message(_KIND_BY_TYPE[kind])
    elif kind in _BOUND_BY_TYPE:
        name, ctx_key = _BOUND_BY_TYPE[kind]
        text = message(name, limit=ctx.get(ctx_key))
    elif kind in ("literal_error", "enum"):
        text = message("choice", choices=ctx.get("expected", ""))
    elif kind == "value_error":
        text = str(ctx.get("error", "is invalid"))
    else:
        text = "is invalid"
    return ApiError("invalid_parameter", f"{field} {text}", field=field)


def validate(model: type[M], data: Any) -> M:
    """`model.model_validate(data)`, failing with the catalogue's 400."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise api_error_from(exc.errors()) from None
