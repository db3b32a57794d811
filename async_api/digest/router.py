from __future__ import annotations

from fastapi import APIRouter

from async_api.deps import InitData, RuntimeDep
from async_api.digest.schemas import DigestResponse
from async_api.errors import error_responses
from async_api.identity import current_user
from shared.contracts.digest import DigestRequest
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
