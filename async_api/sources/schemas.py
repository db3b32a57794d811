from __future__ import annotations

from pydantic import BaseModel


class PublicSource(BaseModel):
    id: int
    name: str
    category: str


class SourcesResponse(BaseModel):
    sources: list[PublicSource]
