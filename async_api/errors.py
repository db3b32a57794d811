"""The catalogue's error shape for the async half (never FastAPI's 422 body)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from shared.contracts.validation import BODY_NOT_JSON, api_error_from
from shared.errors import CODE_BY_HTTP_STATUS, ApiError, error_body

log = logging.getLogger(__name__)


class ErrorDetail(BaseModel):
    code: str
    message: str
    field: str | None = None


class ErrorResponse(BaseModel):
    error: ErrorDetail


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error statuses a route can answer."""
    return {status: {"model": ErrorResponse} for status in statuses}


# What a user-scoped route can answer besides success (validation, identity, outage).
USER_ERRORS = error_responses(400, 401, 403, 404, 503)


def _json(
    status: int, body: dict[str, Any], headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=headers)


async def _api_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return _json(exc.status, exc.body(), headers=exc.headers() or None)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    error = api_error_from(list(exc.errors()))
    return _json(error.status, error.body())


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 400 and exc.detail == "There was an error parsing the body":
        # FastAPI's words for a body that is not even text (bad UTF-8): Flask says invalid JSON.
        return _json(400, error_body("invalid_json", BODY_NOT_JSON))
    code, text = CODE_BY_HTTP_STATUS.get(exc.status_code, ("internal", "internal server error"))
    return _json(exc.status_code, error_body(code, text), headers=exc.headers)


async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error in the async half", exc_info=exc)
    return _json(500, error_body("internal", "internal server error"))


def register_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
