from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from async_api.deps import Db
from async_api.system.schemas import HealthResponse, VersionResponse
from shared.system import health as database_health
from shared.system import version as version_info

router = APIRouter(tags=["system"])


@router.get(
    "/api/health",
    name="api.health",
    response_model=HealthResponse,
    # A down database is not an error body: the probe still reports what it found.
    responses={503: {"model": HealthResponse, "description": "the database does not answer"}},
)
async def health(db: Db, response: Response) -> dict[str, Any]:
    body, response.status_code = await database_health(db)
    return body


@router.get("/api/version", name="api.version", response_model=VersionResponse)
async def version() -> dict[str, Any]:
    return version_info()
