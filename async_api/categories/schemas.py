from __future__ import annotations

from pydantic import BaseModel


class CategoriesResponse(BaseModel):
    categories: list[str]
    structure: dict[str, list[str]]
