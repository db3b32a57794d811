from __future__ import annotations

from fastapi import APIRouter

from async_api.categories.schemas import CategoriesResponse
from shared.categories import CATEGORIES, category_structure

router = APIRouter(tags=["categories"])


@router.get("/api/categories", name="api.get_categories", response_model=CategoriesResponse)
async def get_categories() -> CategoriesResponse:
    return CategoriesResponse(categories=list(CATEGORIES), structure=category_structure())
