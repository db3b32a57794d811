"""Field types the catalogue uses everywhere."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field, StrictInt

from shared import categories

Limit = Annotated[int, Field(ge=1, le=100, description="Page size, 1..100")]
Offset = Annotated[int, Field(ge=0, description="Rows to skip")]
UserId = Annotated[int, Field(ge=1, description="The user's id (users.id)")]
StrictUserId = Annotated[StrictInt, Field(ge=1, description="The user's id (users.id)")]


def _known_category(value: str) -> str:
    if not categories.is_known(value):
        raise ValueError("must be a known category or subcategory")
    return value


def _top_level_category(value: str) -> str:
    if value not in categories.CATEGORY_TREE:
        raise ValueError("must be one of: " + ", ".join(categories.CATEGORIES))
    return value


CategoryName = Annotated[str, AfterValidator(_known_category)]
TopCategory = Annotated[str, AfterValidator(_top_level_category)]
