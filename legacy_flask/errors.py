"""Every error leaves the legacy half in the catalogue's shape, never as a stack trace."""

from __future__ import annotations

import logging

from flask import Flask, Response, json
from werkzeug.exceptions import HTTPException

from shared.errors import CODE_BY_HTTP_STATUS, ApiError, error_body

log = logging.getLogger(__name__)


def _json_error(status: int, body: dict) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def api_error(exc: ApiError) -> Response:
        response = _json_error(exc.status, exc.body())
        response.headers.update(exc.headers())
        return response

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        code, text = CODE_BY_HTTP_STATUS.get(status, ("internal", "internal server error"))
        response = _json_error(status, error_body(code, text))
        allowed = getattr(exc, "valid_methods", None)
        if status == 405 and allowed:
            response.headers["Allow"] = ", ".join(allowed)
        return response

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Response:
        log.exception("unhandled error in the legacy half")
        return _json_error(500, error_body("internal", "internal server error"))
