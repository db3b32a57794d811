"""The catalogue's one error shape, raised anywhere and rendered by either half."""

from __future__ import annotations

from typing import Any

STATUS_BY_CODE = {
    "invalid_parameter": 400,
    "invalid_json": 400,
    "unauthorized": 401,
    "forbidden": 403,
    "not_found": 404,
    "method_not_allowed": 405,
    "conflict": 409,
    "payload_too_large": 413,
    "rate_limited": 429,
    "internal": 500,
    "upstream_error": 502,
    "unavailable": 503,
    "upstream_timeout": 504,
}


# Errors raised by the frameworks themselves (unknown path, wrong method, …), in words both
# halves use.
CODE_BY_HTTP_STATUS = {
    400: ("invalid_parameter", "bad request"),
    401: ("unauthorized", "authentication required"),
    403: ("forbidden", "forbidden"),
    404: ("not_found", "no such endpoint"),
    405: ("method_not_allowed", "method not allowed"),
    409: ("conflict", "conflict"),
    413: ("payload_too_large", "request body is larger than 1 MiB"),
    429: ("rate_limited", "too many requests"),
}


class ApiError(Exception):
    """An error the client should see: status, code, message and maybe the faulty field."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        field: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.status = STATUS_BY_CODE[code]
        self.message = message
        self.field = field
        self.retry_after = retry_after  # seconds, for 429 and 503: sent as `Retry-After`

    def headers(self) -> dict[str, str]:
        """HTTP headers that go with the answer (both halves send the same ones)."""
        return {} if self.retry_after is None else {"Retry-After": str(self.retry_after)}

    def body(self) -> dict[str, Any]:
        return error_body(self.code, self.message, field=self.field)


def error_body(code: str, message: str, *, field: str | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if field is not None:
        error["field"] = field
    return {"error": error}


def invalid(field: str, message: str) -> ApiError:
    return ApiError("invalid_parameter", f"{field} {message}", field=field)


def not_found(what: str) -> ApiError:
    return ApiError("not_found", f"{what} not found")


# Messages both halves use word for word, so the frontend cannot tell them apart.
MESSAGES = {
    "missing": "is required",
    "integer": "must be an integer",
    "number": "must be a number",
    "string": "must be a string",
    "boolean": "must be a boolean",
    "list": "must be a list",
    "object": "must be an object",
    "ge": "must be greater than or equal to {limit}",
    "le": "must be less than or equal to {limit}",
    "min_length": "must be at least {limit} characters",
    "max_length": "must be at most {limit} characters",
    "min_items": "must have at least {limit} items",
    "max_items": "must have at most {limit} items",
    "choice": "must be one of: {choices}",
    "datetime": "must be an ISO-8601 timestamp",
}


def message(kind: str, **values: Any) -> str:
    return MESSAGES[kind].format(**values)
