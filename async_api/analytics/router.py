from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from async_api.analytics import service
from async_api.analytics.schemas import Accepted, EventPage, Funnel, PopularCategories
from async_api.deps import Admin, Db, InitData, RuntimeDep
from async_api.errors import error_responses
from async_api.identity import current_user
from shared.contracts.analytics import (
    ActivityPath,
    DaysQuery,
    EventsQuery,
    FunnelQuery,
    TrackEvent,
)
from shared.contracts.common import PageQuery

router = APIRouter(tags=["analytics"])


@router.post(
    "/api/analytics/track",
    name="analytics.track",
    status_code=202,
    response_model=Accepted,
    responses=error_responses(400, 401, 403, 404, 503),
)
async def track(rt: RuntimeDep, event: TrackEvent, init_data: InitData = None) -> Accepted:
    user_id = None
    if event.user_id is not None or init_data:
        user = await current_user(rt, init_data=init_data, user_id=event.user_id)
        user_id = user["id"]
    await service.track(db=rt.db, name=event.event, user_id=user_id, props=event.props or {})
    return Accepted(accepted=True)


@router.get(
    "/api/analytics/events",
    name="analytics.list_events",
    response_model=EventPage,
    responses=error_responses(400, 401, 503),
)
async def list_events(
    actor: Admin, db: Db, params: Annotated[EventsQuery, Query()]
) -> dict[str, Any]:
    return await service.events_page(
        db=db,
        name=params.name,
        since=params.since,
        user_id=params.user_id,
        limit=params.limit,
        offset=params.offset,
    )


@router.get(
    "/api/analytics/popular-categories",
    name="analytics.popular_categories",
    response_model=PopularCategories,
    responses=error_responses(400, 503),
)
async def popular_categories(db: Db, params: Annotated[DaysQuery, Query()]) -> dict[str, Any]:
    return await service.popular_categories(db=db, days=params.days)


@router.get(
    "/api/analytics/users/{user_id:int}/activity",
    name="analytics.user_activity",
    response_model=EventPage,
    responses=error_responses(400, 401, 403, 404, 503),
)
async def user_activity(
    rt: RuntimeDep,
    path: Annotated[ActivityPath, Path()],
    params: Annotated[PageQuery, Query()],
    init_data: InitData = None,
) -> dict[str, Any]:
    user = await current_user(rt, init_data=init_data, user_id=path.user_id)
    return await service.events_page(
        db=rt.db, user_id=user["id"], limit=params.limit, offset=params.offset
    )


@router.get(
    "/api/analytics/funnel",
    name="analytics.funnel",
    response_model=Funnel,
    responses=error_responses(400, 503),
)
async def funnel(db: Db, params: Annotated[FunnelQuery, Query()]) -> dict[str, Any]:
    return await service.funnel(db=db, steps=params.step_names(), days=params.days)
