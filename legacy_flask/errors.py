"""Every error leaves the legacy half in the catalogue's shape, never as a stack trace."""

from __future__ import annotations

import logging

from flask import Flask, Response, json
from werkzeug.exceptions import HTTPException

from shared.errors import ApiError, error_body

log = logging.getLogger(__name__)

_CODE_BY_STATUS = {
    400: ("invalid_parameter", "bad request"),
    401: ("unauthorized", "authentication required"),
    403: ("forbidden", "forbidden"),
    404: ("not_found", "no such endpoint"),
    405: ("method_not_allowed", "method not allowed"),
    409: ("conflict", "conflict"),
    413: ("payload_too_large", "request body is larger than 1 MiB"),
    429: ("rate_limited", "too many requests"),
}


def _json_error(status: int, body: dict) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def api_error(exc: ApiError) -> Response:
        return _json_error(exc.status, exc.body())

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        code, text = _CODE_BY_STATUS.get(status, ("internal", "internal server error"))
        response = _json_error(status, error_body(code, text))
        allowed = getattr(exc, "valid_methods", None)
        if status == 405 and allowed:
            response.headers["Allow"] = ", ".join(allowed)
        return response

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Response:
        log.exception("unhandled error in the legacy half")
        return _json_error(500, error_body("internal", "internal server error"))
