from __future__ import annotations

from typing import Annotated, TypeVar

from fastapi import APIRouter, Header, Path, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from async_api.bodies import json_body, json_body_doc
from async_api.contract_json import ContractJSON
from async_api.deps import Admin, Db, RuntimeDep, runtime_of
from async_api.errors import error_responses
from async_api.events import service
from async_api.events.schemas import CalendarMonth, EventCategories, EventItem, EventPage
from async_api.routing import QueryModelRoute
from shared import events_stream as sse
from shared.contracts.common import PageQuery
from shared.contracts.events import (
    CalendarQuery,
    EventCreate,
    EventListQuery,
    EventPath,
    EventSearchQuery,
    EventStreamQuery,
    EventUpdate,
    UpcomingQuery,
)

router = APIRouter(tags=["events"], route_class=QueryModelRoute)
M = TypeVar("M", bound=BaseModel)
ADMIN_ERRORS = (400, 401, 404, 503)


@router.get(
    "/api/events/",
    name="events.list_events",
    response_model=EventPage,
    responses=error_responses(400, 503),
)
async def list_events(request: Request, params: Annotated[EventListQuery, Query()]) -> ContractJSON:
    return ContractJSON(await service.list_events(db=runtime_of(request).db, params=params))


@router.get(
    "/api/events/{event_id:int}",
    name="events.get_event",
    response_model=EventItem,
    responses=error_responses(400, 404, 503),
)
async def get_event(db: Db, path: Annotated[EventPath, Path()]) -> dict:
    return await service.get_event(db=db, event_id=path.event_id)


@router.get(
    "/api/events/upcoming",
    name="events.upcoming_events",
    response_model=EventPage,
    responses=error_responses(400, 503),
)
async def upcoming_events(db: Db, params: Annotated[UpcomingQuery, Query()]) -> dict:
    return await service.upcoming_events(
        db=db, days=params.days, limit=params.limit, offset=params.offset
    )


@router.get(
    "/api/events/today",
    name="events.today_events",
    response_model=EventPage,
    responses=error_responses(400, 503),
)
async def today_events(db: Db, params: Annotated[PageQuery, Query()]) -> dict:
    return await service.today_events(db=db, limit=params.limit, offset=params.offset)


@router.get(
    "/api/events/calendar",
    name="events.calendar",
    response_model=CalendarMonth,
    responses=error_responses(400, 503),
)
async def calendar(db: Db, params: Annotated[CalendarQuery, Query()]) -> dict:
    return await service.calendar(db=db, month=params.month)


@router.get(
    "/api/events/search",
    name="events.search_events",
    response_model=EventPage,
    responses=error_responses(400, 503),
)
async def search_events(db: Db, params: Annotated[EventSearchQuery, Query()]) -> dict:
    return await service.search_events(db=db, q=params.q, limit=params.limit, offset=params.offset)


@router.get(
    "/api/events/categories",
    name="events.event_categories",
    response_model=EventCategories,
    responses=error_responses(503),
)
async def event_categories(db: Db) -> dict:
    return await service.event_categories(db=db)


@router.post(
    "/api/events",
    name="events.create_event",
    status_code=201,
    response_model=EventItem,
    responses=error_responses(400, 401, 503),
    openapi_extra=json_body_doc(EventCreate),
)
async def create_event(admin: Admin, db: Db, request: Request, response: Response) -> dict:
    new = await json_body(request, EventCreate)
    item = await service.create_event(db=db, actor=admin, fields=new.model_dump())
    response.headers["Location"] = f"/api/events/{item['id']}"
    return item


@router.put(
    "/api/events/{event_id:int}",
    name="events.update_event",
    response_model=EventItem,
    responses=error_responses(*ADMIN_ERRORS),
    openapi_extra=json_body_doc(EventUpdate),
)
async def update_event(
    admin: Admin, db: Db, path: Annotated[EventPath, Path()], request: Request
) -> dict:
    change = await json_body(request, EventUpdate)
    return await service.update_event(
        db=db, actor=admin, event_id=path.event_id, changes=change.changes()
    )


@router.delete(
    "/api/events/{event_id:int}",
    name="events.delete_event",
    status_code=204,
    response_class=Response,
    responses=error_responses(*ADMIN_ERRORS),
)
async def delete_event(admin: Admin, db: Db, path: Annotated[EventPath, Path()]) -> Response:
    await service.delete_event(db=db, actor=admin, event_id=path.event_id)
    return Response(status_code=204)


@router.get(
    "/api/events/stream",
    name="events.stream_events",
    response_class=StreamingResponse,
    responses={
        200: {"content": {sse.MEDIA_TYPE: {}}, "description": "Server-Sent Events"},
        **error_responses(400),
    },
)
async def stream_events(
    rt: RuntimeDep,
    params: Annotated[EventStreamQuery, Query()],
    last_event_id: Annotated[str | None, Header(alias=sse.LAST_EVENT_ID_HEADER)] = None,
) -> StreamingResponse:
    cursor = sse.start_cursor(since=params.since, last_event_id=last_event_id)
    changes = service.event_changes(db=rt.db, settings=rt.settings, cursor=cursor)
    return StreamingResponse(changes, media_type=sse.MEDIA_TYPE, headers=sse.HEADERS)
