"""Answers already in their contract's shape, encoded once, straight to bytes.

A hot read route builds its answer from the shared row helpers (`news_item`, `event_item`,
`page`), which produce exactly the fields and types of the route's response model; the
route keeps `response_model` for the OpenAPI document and returns one of these, so FastAPI
neither validates the same data again nor serializes it through a model. pydantic-core's
encoder writes the compact UTF-8 JSON FastAPI's own answers have.
"""

from __future__ import annotations

from typing import Any

from fastapi.responses import Response
from pydantic_core import to_json


class ContractJSON(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return to_json(content)
