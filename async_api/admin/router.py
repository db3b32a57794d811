"""`/admin`: the admin page and the admin APIs (see docs/api.md)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse

from async_api.admin import service
from async_api.admin.schemas import (
    AuditPage,
    BroadcastResponse,
    BroadcastStatusResponse,
    FetchResult,
    IngestProgress,
    IngestResponse,
    NewsResponse,
    SourceResponse,
    SourcesResponse,
    Stats,
    UserDetailResponse,
    UserPage,
    UserResponse,
)
from async_api.bodies import json_body, json_body_doc
from async_api.deps import Admin, Db, RuntimeDep
from async_api.errors import error_responses
from shared.contracts.admin import (
    AuditQuery,
    BlockUser,
    BroadcastPath,
    BroadcastRequest,
    NewsCreate,
    NewsPath,
    SourceCreate,
    SourcePath,
    SourceUpdate,
    UserPath,
    UserSearchQuery,
)
from shared.database.queries import admin as queries
from shared.ingest import PROGRESS_PATH, ingest_answer
from shared.web.admin import admin_page as render_admin_page

# Routes with a JSON body read it with `json_body`, after the admin check and the path,
# in the same order as the legacy views (see async_api/bodies.py).
router = APIRouter(tags=["admin"])
ADMIN_ERRORS = (401, 503)


@router.get(
    "/admin/",
    name="admin.admin_page",
    response_class=HTMLResponse,
    responses={503: {"description": "ADMIN_TOKEN is unset: the page says so"}},
)
async def admin_page(rt: RuntimeDep) -> HTMLResponse:
    # The shell carries no data and a browser cannot send a bearer header when it opens
    # a page, so the token is asked for by the page and checked by every API it calls.
    configured = bool(rt.settings.admin_token)
    html, headers = render_admin_page(configured=configured)
    return HTMLResponse(html, status_code=200 if configured else 503, headers=headers)


@router.get(
    "/admin/api/stats",
    name="admin.stats",
    response_model=Stats,
    responses=error_responses(*ADMIN_ERRORS),
)
async def stats(_actor: Admin, db: Db) -> dict:
    return await service.stats(db=db)


# --- users ---------------------------------------------------------------------------------


@router.get(
    "/admin/api/users",
    name="admin.list_users",
    response_model=UserPage,
    responses=error_responses(400, *ADMIN_ERRORS),
)
async def list_users(_actor: Admin, db: Db, params: Annotated[UserSearchQuery, Query()]) -> dict:
    return await service.users_page(db=db, q=params.q, limit=params.limit, offset=params.offset)


@router.get(
    "/admin/api/users/{user_id:int}",
    name="admin.get_user",
    response_model=UserDetailResponse,
    responses=error_responses(400, 404, *ADMIN_ERRORS),
)
async def get_user(_actor: Admin, db: Db, path: Annotated[UserPath, Path()]) -> dict:
    return {"user": await service.user_detail(db=db, user_id=path.user_id)}


@router.post(
    "/admin/api/users/{user_id:int}/block",
    name="admin.block_user",
    response_model=UserResponse,
    responses=error_responses(400, 404, *ADMIN_ERRORS),
    openapi_extra=json_body_doc(BlockUser),
)
async def block_user(
    actor: Admin, db: Db, path: Annotated[UserPath, Path()], request: Request
) -> dict:
    change = await json_body(request, BlockUser)
    user = await service.set_blocked(
        db=db, actor=actor, user_id=path.user_id, blocked=change.blocked, reason=change.reason
    )
    return {"user": user}


# --- sources -------------------------------------------------------------------------------


@router.get(
    "/admin/api/sources",
    name="admin.list_sources",
    response_model=SourcesResponse,
    responses=error_responses(*ADMIN_ERRORS),
)
async def list_sources(_actor: Admin, db: Db) -> dict:
    return {"sources": await queries.all_sources(db)}


@router.post(
    "/admin/api/sources",
    name="admin.create_source",
    status_code=201,
    response_model=SourceResponse,
    responses=error_responses(400, 409, *ADMIN_ERRORS),
    openapi_extra=json_body_doc(SourceCreate),
)
async def create_source(actor: Admin, db: Db, request: Request) -> dict:
    source = await json_body(request, SourceCreate)
    return {"source": await queries.create_source(db, actor=actor, values=source.model_dump())}


@router.put(
    "/admin/api/sources/{source_id:int}",
    name="admin.update_source",
    response_model=SourceResponse,
    responses=error_responses(400, 404, 409, *ADMIN_ERRORS),
    openapi_extra=json_body_doc(SourceUpdate),
)
async def update_source(
    actor: Admin, db: Db, path: Annotated[SourcePath, Path()], request: Request
) -> dict:
    update = await json_body(request, SourceUpdate)
    source = await queries.update_source(
        db, actor=actor, source_id=path.source_id, changes=update.changes()
    )
    return {"source": source}


@router.delete(
    "/admin/api/sources/{source_id:int}",
    name="admin.delete_source",
    status_code=204,
    response_class=Response,
    responses=error_responses(400, 404, *ADMIN_ERRORS),
)
async def delete_source(actor: Admin, db: Db, path: Annotated[SourcePath, Path()]) -> Response:
    await queries.delete_source(db, actor=actor, source_id=path.source_id)
    return Response(status_code=204)


@router.post(
    "/admin/api/sources/{source_id:int}/fetch",
    name="admin.fetch_source",
    response_model=FetchResult,
    responses=error_responses(400, 404, *ADMIN_ERRORS),
)
async def fetch_source(actor: Admin, rt: RuntimeDep, path: Annotated[SourcePath, Path()]) -> dict:
    return await service.fetch_source(
        db=rt.db, http=rt.http, settings=rt.settings, actor=actor, source_id=path.source_id
    )


@router.post(
    "/admin/api/ingest",
    name="admin.ingest",
    response_model=IngestResponse,
    responses={
        202: {
            "model": IngestProgress,
            "description": "The run is still queued or running after INGEST_WAIT_SECONDS: "
            "its progress (`GET /admin/api/ingest` follows it)",
        },
        **error_responses(*ADMIN_ERRORS),
    },
)
async def ingest(actor: Admin, rt: RuntimeDep) -> Any:
    status, body = ingest_answer(await service.ingest(rt=rt, actor=actor))
    if status == 202:
        return JSONResponse(body, status_code=202, headers={"Location": PROGRESS_PATH})
    return body


@router.get(
    "/admin/api/ingest",
    name="admin.ingest_progress",
    response_model=IngestProgress,
    responses=error_responses(404, *ADMIN_ERRORS),
)
async def ingest_progress(_actor: Admin, db: Db) -> dict:
    return await service.ingest_progress(db=db)


# --- news ----------------------------------------------------------------------------------


@router.post(
    "/admin/api/news",
    name="admin.create_news",
    status_code=201,
    response_model=NewsResponse,
    responses=error_responses(400, 404, 409, *ADMIN_ERRORS),
    openapi_extra=json_body_doc(NewsCreate),
)
async def create_news(actor: Admin, db: Db, request: Request) -> dict:
    item = await json_body(request, NewsCreate)
    return {"news": await queries.create_news(db, actor=actor, values=item.model_dump())}


@router.delete(
    "/admin/api/news/{news_id:int}",
    name="admin.delete_news",
    status_code=204,
    response_class=Response,
    responses=error_responses(400, 404, *ADMIN_ERRORS),
)
async def delete_news(actor: Admin, db: Db, path: Annotated[NewsPath, Path()]) -> Response:
    await queries.delete_news(db, actor=actor, news_id=path.news_id)
    return Response(status_code=204)


# --- audit log and broadcast ---------------------------------------------------------------


@router.get(
    "/admin/api/audit",
    name="admin.audit_log",
    response_model=AuditPage,
    responses=error_responses(400, *ADMIN_ERRORS),
)
async def audit_log(_actor: Admin, db: Db, params: Annotated[AuditQuery, Query()]) -> dict:
    return await service.audit_page(db=db, limit=params.limit, offset=params.offset)


@router.post(
    "/admin/api/digest/broadcast",
    name="admin.broadcast_digest",
    response_model=BroadcastResponse,
    responses=error_responses(400, 502, 503, 504, *ADMIN_ERRORS),
    openapi_extra=json_body_doc(BroadcastRequest),
)
async def broadcast_digest(actor: Admin, rt: RuntimeDep, raw: Request) -> dict:
    request = await json_body(raw, BroadcastRequest)
    return await service.broadcast(
        db=rt.db,
        writer=rt.writer,
        jobs=rt.jobs,
        settings=rt.settings,
        actor=actor,
        category=request.category,
        dry_run=request.dry_run,
    )


@router.get(
    "/admin/api/digest/broadcast/{broadcast_id:int}",
    name="admin.get_broadcast",
    response_model=BroadcastStatusResponse,
    responses=error_responses(400, 404, *ADMIN_ERRORS),
)
async def get_broadcast(_actor: Admin, db: Db, path: Annotated[BroadcastPath, Path()]) -> dict:
    return {"broadcast": await service.broadcast_status(db=db, broadcast_id=path.broadcast_id)}
