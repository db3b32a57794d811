"""Request parsing for sync views, with the same rules and messages as the async half."""

from __future__ import annotations

from typing import TypeVar

from flask import request
from pydantic import BaseModel, ValidationError

from shared.contracts.validation import BODY_NOT_JSON, BODY_NOT_OBJECT, api_error_from
from shared.errors import ApiError
from shared.identity import INIT_DATA_HEADER

M = TypeVar("M", bound=BaseModel)


def query(model: type[M]) -> M:
    """The query string validated against `model` (the last value wins for repeats, as in
    FastAPI)."""
    try:
        return model.model_validate({key: request.args.getlist(key)[-1] for key in request.args})
    except ValidationError as exc:
        raise api_error_from(exc.errors()) from None


def body(model: type[M]) -> M:
    """The JSON body validated against `model`."""
    data = request.get_data(cache=True)
    mimetype = request.mimetype
    if not data or (mimetype and not request.is_json):
        raise ApiError("invalid_json", BODY_NOT_OBJECT)
    try:
        payload = request.get_json(force=True)
    except Exception:  # werkzeug raises BadRequest subclasses for bad JSON
        raise ApiError("invalid_json", BODY_NOT_JSON) from None
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise api_error_from(exc.errors()) from None


def init_data() -> str | None:
    return request.headers.get(INIT_DATA_HEADER)
