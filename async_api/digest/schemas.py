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


class DigestJobCreated(BaseModel):
    job_id: str
    status: str


class DigestJob(BaseModel):
    job_id: str
    status: str
    digest: Digest | None = None
    error: str | None = None


class DigestList(BaseModel):
    items: list[Digest]
    total: int
    limit: int
    offset: int


class DigestOptions(BaseModel):
    style: list[str]
    tone: list[str]
    length: list[str]
    audience: list[str]
