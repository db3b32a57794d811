from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from async_api.deps import InitData, RuntimeDep
from async_api.errors import USER_ERRORS, error_responses
from async_api.identity import check_registration, current_user
from async_api.users import service
from async_api.users.schemas import Preferences, ProfileResponse, UserCreated
from shared.contracts.preferences import PreferencesUpdate
from shared.contracts.users import NewUser, UserPath

router = APIRouter(tags=["users"])
# The path's user is the acting user: the identity rules of user-scoped endpoints apply.


@router.post(
    "/api/users",
    name="api.create_user",
    response_model=UserCreated,
    responses={201: {"model": UserCreated}, **error_responses(400, 401, 403, 503)},
)
async def create_user(
    rt: RuntimeDep, new: NewUser, response: Response, init_data: InitData = None
) -> dict:
    await check_registration(rt, init_data=init_data, telegram_id=new.telegram_id)
    user, created = await service.get_or_create(
        db=rt.db, telegram_id=new.telegram_id, username=new.username, language=new.language
    )
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return {"user": user, "created": created}


@router.get(
    "/api/users/{user_id:int}",
    name="api.get_user",
    response_model=ProfileResponse,
    responses=USER_ERRORS,
)
async def get_user(
    rt: RuntimeDep, path: Annotated[UserPath, Path()], init_data: InitData = None
) -> dict:
    user = await current_user(rt, init_data=init_data, user_id=path.user_id)
    return {"user": await service.profile(db=rt.db, user=user)}


@router.get(
    "/api/users/{user_id:int}/preferences",
    name="api.get_preferences",
    response_model=Preferences,
    responses=USER_ERRORS,
)
async def get_preferences(
    rt: RuntimeDep, path: Annotated[UserPath, Path()], init_data: InitData = None
) -> dict:
    user = await current_user(rt, init_data=init_data, user_id=path.user_id)
    return await service.preferences_of(db=rt.db, user=user)


@router.put(
    "/api/users/{user_id:int}/preferences",
    name="api.update_preferences",
    response_model=Preferences,
    responses=USER_ERRORS,
)
async def update_preferences(
    rt: RuntimeDep,
    path: Annotated[UserPath, Path()],
    update: PreferencesUpdate,
    init_data: InitData = None,
) -> dict:
    user = await current_user(rt, init_data=init_data, user_id=path.user_id)
    return await service.update_preferences(db=rt.db, user=user, changes=update.changes())
