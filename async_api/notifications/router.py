from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from async_api.deps import InitData, RuntimeDep
from async_api.errors import USER_ERRORS
from async_api.identity import current_user
from async_api.notifications import service
from async_api.notifications.schemas import NotificationList, NotificationResponse
from shared.contracts.notifications import NotificationPath, NotificationsQuery
from shared.contracts.subscriptions import UserQuery

router = APIRouter(tags=["notifications"])


@router.get(
    "/api/notifications",
    name="api.list_notifications",
    response_model=NotificationList,
    responses=USER_ERRORS,
)
async def list_notifications(
    rt: RuntimeDep, params: Annotated[NotificationsQuery, Query()], init_data: InitData = None
) -> dict:
    user = await current_user(rt, init_data=init_data, user_id=params.user_id)
    return await service.notifications_of(
        db=rt.db,
        user_id=user["id"],
        unread_only=params.unread_only,
        limit=params.limit,
        offset=params.offset,
    )


@router.post(
    "/api/notifications/{notification_id:int}/read",
    name="api.mark_notification_read",
    response_model=NotificationResponse,
    responses=USER_ERRORS,
)
async def mark_notification_read(
    rt: RuntimeDep,
    path: Annotated[NotificationPath, Path()],
    params: Annotated[UserQuery, Query()],
    init_data: InitData = None,
) -> dict:
    user = await current_user(rt, init_data=init_data, user_id=params.user_id)
    notification = await service.mark_read(
        db=rt.db, user_id=user["id"], notification_id=path.notification_id
    )
    return {"notification": notification}
