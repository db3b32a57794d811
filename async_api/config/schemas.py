from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class DigestDefaults(BaseModel):
    style: str
    tone: str
    length: str
    audience: str


class PublicConfig(BaseModel):
    features: dict[str, bool]
    digest_defaults: DigestDefaults
    digest_options: dict[str, list[str]]
    maintenance_message: str | None


class Features(BaseModel):
    features: dict[str, bool]


class ConfigEntry(BaseModel):
    key: str
    value: Any


class Reloaded(BaseModel):
    reloaded: bool
