"""`/api/metrics`: this process's figures (public, as the catalogue lists them)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from async_api.deps import RuntimeDep
from async_api.errors import error_responses
from async_api.metrics import service
from async_api.metrics.schemas import (
    ContentMetrics,
    DatabaseMetrics,
    DeepHealth,
    ProcessMetrics,
    RouteMetrics,
)
from shared import metrics as figures

router = APIRouter(tags=["metrics"])


@router.get(
    "/api/metrics",
    name="metrics.process_metrics",
    response_model=ProcessMetrics,
)
async def process_metrics(rt: RuntimeDep) -> dict:
    return figures.process_figures(rt)


@router.get(
    "/api/metrics/health",
    name="metrics.deep_health",
    response_model=DeepHealth,
    # 503 when the database is down, with this same body (not the error shape).
    responses={503: {"model": DeepHealth, "description": "the database is down"}},
)
async def deep_health(rt: RuntimeDep, response: Response) -> dict:
    body = await service.deep_health(rt=rt)
    response.status_code = figures.health_status_code(body)
    return body


@router.get(
    "/api/metrics/db",
    name="metrics.database",
    response_model=DatabaseMetrics,
)
async def database(rt: RuntimeDep) -> dict:
    return figures.pool_figures(rt.db)


@router.get(
    "/api/metrics/routes",
    name="metrics.routes",
    response_model=RouteMetrics,
)
async def routes(rt: RuntimeDep) -> dict:
    return figures.route_figures(rt)


@router.get(
    "/api/metrics/content",
    name="metrics.content",
    response_model=ContentMetrics,
    responses=error_responses(503),
)
async def content(rt: RuntimeDep) -> dict:
    return await service.content(rt=rt)
