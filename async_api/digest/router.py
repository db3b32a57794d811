from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from async_api.deps import InitData, RuntimeDep
from async_api.digest import service
from async_api.digest.schemas import (
    DigestJob,
    DigestJobCreated,
    DigestList,
    DigestOptions,
    DigestResponse,
)
from async_api.errors import error_responses
from async_api.identity import current_user, reader_id
from shared.contracts.digest import DigestHistoryQuery, DigestPath, DigestRequest
from shared.digest import DIGEST_OPTIONS
from shared.digest import generate_digest as build_digest

router = APIRouter(tags=["digest"])


@router.post(
    "/api/digest/generate",
    name="api.generate_digest",
    response_model=DigestResponse,
    responses=error_responses(400, 401, 403, 404, 502, 503, 504),
)
async def generate_digest(
    rt: RuntimeDep, request: DigestRequest, init_data: InitData = None
) -> dict:
    user_id = None
    if request.user_id is not None or init_data:
        user = await current_user(rt, init_data=init_data, user_id=request.user_id)
        user_id = user["id"]
    digest = await build_digest(
        db=rt.db, writer=rt.writer, params=request.params(), user_id=user_id
    )
    return {"digest": digest}


@router.post(
    "/api/digest/jobs",
    name="api.create_digest_job",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=DigestJobCreated,
    responses=error_responses(400, 401, 403, 404, 503),
)
async def create_digest_job(
    rt: RuntimeDep, request: DigestRequest, init_data: InitData = None
) -> DigestJobCreated:
    user_id = None
    # With a bot token a job is only ever readable by its owner: no owner, no job.
    if request.user_id is not None or init_data or rt.settings.telegram_bot_token:
        user = await current_user(rt, init_data=init_data, user_id=request.user_id)
        user_id = user["id"]
    job_id = await service.start_digest_job(rt=rt, params=request.params(), user_id=user_id)
    return DigestJobCreated(job_id=job_id, status="queued")


@router.get(
    "/api/digest/jobs/{job_id}",
    name="api.get_digest_job",
    response_model=DigestJob,
    response_model_exclude_none=True,
    responses=error_responses(401, 403, 404, 503),
)
async def get_digest_job(rt: RuntimeDep, job_id: str, init_data: InitData = None) -> dict:
    owner_id = await reader_id(rt, init_data=init_data)
    return await service.digest_job(db=rt.db, job_id=job_id, owner_id=owner_id)


@router.get(
    "/api/digest/history",
    name="api.digest_history",
    response_model=DigestList,
    responses=error_responses(400, 401, 403, 404, 503),
)
async def digest_history(
    rt: RuntimeDep, params: Annotated[DigestHistoryQuery, Query()], init_data: InitData = None
) -> dict:
    user = await current_user(rt, init_data=init_data, user_id=params.user_id)
    return await service.history(
        db=rt.db, user_id=user["id"], limit=params.limit, offset=params.offset
    )


@router.get(
    "/api/digest/options",
    name="api.digest_options",
    response_model=DigestOptions,
)
async def digest_options() -> dict:
    return {name: list(choices) for name, choices in DIGEST_OPTIONS.items()}


@router.get(
    "/api/digest/{digest_id:int}",
    name="api.get_digest",
    response_model=DigestResponse,
    responses=error_responses(400, 401, 403, 404, 503),
)
async def get_digest(
    rt: RuntimeDep, path: Annotated[DigestPath, Path()], init_data: InitData = None
) -> dict:
    owner_id = await reader_id(rt, init_data=init_data)
    return {"digest": await service.digest(db=rt.db, digest_id=path.digest_id, owner_id=owner_id)}
