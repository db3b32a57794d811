"""`/api/dashboard`: public figures (the catalogue does not list them as admin-only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from async_api.dashboard import service
from async_api.dashboard.schemas import (
    ActivityPage,
    Count,
    DashboardSummary,
    DigestFigures,
    NewsByCategory,
    NewsBySource,
    NewsWeek,
    SubscriptionFigures,
    UserFigures,
)
from async_api.deps import Db
from async_api.errors import error_responses
from shared.contracts.dashboard import ActivityQuery, DaysQuery

router = APIRouter(tags=["dashboard"])
DB_ERRORS = error_responses(503)
QUERY_ERRORS = error_responses(400, 503)


@router.get(
    "/api/dashboard/news/today",
    name="dashboard.news_today",
    response_model=Count,
    responses=DB_ERRORS,
)
async def news_today(db: Db) -> dict:
    return await service.news_today(db=db)


@router.get(
    "/api/dashboard/news/week",
    name="dashboard.news_week",
    response_model=NewsWeek,
    responses=DB_ERRORS,
)
async def news_week(db: Db) -> dict:
    return await service.news_week(db=db)


@router.get(
    "/api/dashboard/news/by-category",
    name="dashboard.news_by_category",
    response_model=NewsByCategory,
    responses=QUERY_ERRORS,
)
async def news_by_category(db: Db, params: Annotated[DaysQuery, Query()]) -> dict:
    return await service.news_by_category(db=db, days=params.days)


@router.get(
    "/api/dashboard/news/by-source",
    name="dashboard.news_by_source",
    response_model=NewsBySource,
    responses=QUERY_ERRORS,
)
async def news_by_source(db: Db, params: Annotated[DaysQuery, Query()]) -> dict:
    return await service.news_by_source(db=db, days=params.days)


@router.get(
    "/api/dashboard/events/upcoming",
    name="dashboard.events_upcoming",
    response_model=Count,
    responses=DB_ERRORS,
)
async def events_upcoming(db: Db) -> dict:
    return await service.events_upcoming(db=db)


@router.get(
    "/api/dashboard/users",
    name="dashboard.users",
    response_model=UserFigures,
    responses=DB_ERRORS,
)
async def users(db: Db) -> dict:
    return await service.users(db=db)


@router.get(
    "/api/dashboard/subscriptions",
    name="dashboard.subscriptions",
    response_model=SubscriptionFigures,
    responses=DB_ERRORS,
)
async def subscriptions(db: Db) -> dict:
    return await service.subscriptions(db=db)


@router.get(
    "/api/dashboard/digests",
    name="dashboard.digests",
    response_model=DigestFigures,
    responses=DB_ERRORS,
)
async def digests(db: Db) -> dict:
    return await service.digests(db=db)


@router.get(
    "/api/dashboard/activity",
    name="dashboard.activity",
    response_model=ActivityPage,
    responses=QUERY_ERRORS,
)
async def activity(db: Db, params: Annotated[ActivityQuery, Query()]) -> dict:
    return await service.activity(db=db, limit=params.limit, offset=params.offset)


@router.get(
    "/api/dashboard/summary",
    name="dashboard.summary",
    response_model=DashboardSummary,
    responses=DB_ERRORS,
)
async def summary(db: Db) -> dict:
    return await service.summary(db=db)
