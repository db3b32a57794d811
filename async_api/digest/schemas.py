from __future__ import annotations

from pydantic import BaseModel


class DigestParamsOut(BaseModel):
    limit: int
    categories: list[str]
    style: str
    tone: str
    length: str
    audience: str


class Digest(BaseModel):
    id: int
    text: str
    model: str
    news_ids: list[int]
    params: DigestParamsOut
    created_at: str


class DigestResponse(BaseModel):
    digest: Digest
