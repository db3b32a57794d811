from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from async_api.deps import Db
from async_api.errors import error_responses
from async_api.sources.schemas import SourcesResponse
from shared.database.queries.sources import enabled_sources

router = APIRouter(tags=["sources"])


@router.get(
    "/api/sources",
    name="api.list_sources",
    response_model=SourcesResponse,
    responses=error_responses(503),
)
async def list_sources(db: Db) -> dict[str, Any]:
    return {"sources": await enabled_sources(db)}
