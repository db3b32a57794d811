"""Answers already in their contract's shape, encoded once, straight to bytes.

A hot read route builds its answer from the shared row helpers (`news_item`, `event_item`,
`page`), which produce exactly the fields and types of the route's response model; the
route keeps `response_model` for the OpenAPI document and returns one of these, so FastAPI
neither validates the same data again nor serializes it through a model.

orjson writes the compact UTF-8 JSON FastAPI's own answers have (pydantic-core's encoder)
at about a third of its CPU. Anything orjson would write its own way (datetimes, dataclass
and subclass instances) or cannot write (an integer beyond 64 bits) is handed to
pydantic-core instead, so the bytes are the same either way.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.responses import Response
from pydantic_core import to_json

_OPTIONS = (
    orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_SUBCLASS
)


class ContractJSON(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        try:
            return orjson.dumps(content, option=_OPTIONS)
        except TypeError:
            return to_json(content)
