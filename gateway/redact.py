"""What a stored request may keep: shadow mismatch records (and anything else that keeps
requests for people to read) pass through here first.

A query parameter or JSON field whose name contains a secret-looking word (or is one of
the configured `REDACT_FIELDS`) keeps its name and loses its value; a body that is not
JSON is not kept at all, only its size, since its secrets cannot be found by name.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl, urlencode

REDACTED = "[redacted]"
SECRET_WORDS = (
    "authorization",
    "init_data",
    "initdata",
    "token",
    "secret",
    "password",
    "passwd",
    "api_key",
    "apikey",
    "hash",
    "signature",
    "cookie",
    "session",
)


class Redactor:
    def __init__(self, extra_fields: Iterable[str] = ()) -> None:
        self.words = SECRET_WORDS + tuple(name.strip().lower() for name in extra_fields if name)

    def is_secret(self, name: str) -> bool:
        lowered = name.lower().replace("-", "_")
        return any(word in lowered for word in self.words)

    def query(self, query_string: str) -> str:
        pairs = parse_qsl(query_string, keep_blank_values=True)
        return urlencode(
            [(name, REDACTED if self.is_secret(name) else value) for name, value in pairs]
        )

    def body(self, raw: bytes, *, limit: int) -> str | None:
        if not raw:
            return None
        try:
            data = json.loads(raw)
        except ValueError:
            return f"(a body of {len(raw)} bytes that is not JSON: not kept)"
        text = json.dumps(self._value(data), ensure_ascii=False, separators=(",", ":"))
        return text[:limit]

    def _value(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {
                key: REDACTED if self.is_secret(str(key)) else self._value(item)
                for key, item in value.items()
            }
        if isinstance(value, list):
            return [self._value(item) for item in value]
        return value
