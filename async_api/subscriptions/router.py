from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from async_api.contract_json import ContractJSON
from async_api.deps import InitData, RuntimeDep, runtime_of
from async_api.errors import USER_ERRORS
from async_api.identity import current_user
from async_api.routing import QueryModelRoute
from async_api.subscriptions import service
from async_api.subscriptions.schemas import (
    SubscriptionsResponse,
    SubscriptionUpdated,
    Success,
)
from shared.contracts.subscriptions import SubscriptionPath, SubscriptionUpdate, UserQuery

router = APIRouter(tags=["subscriptions"], route_class=QueryModelRoute)


@router.get(
    "/api/subscriptions",
    name="api.get_subscriptions",
    response_model=SubscriptionsResponse,
    responses=USER_ERRORS,
)
async def get_subscriptions(
    request: Request, params: Annotated[UserQuery, Query()], init_data: InitData = None
) -> ContractJSON:
    rt = runtime_of(request)
    user = await current_user(rt, init_data=init_data, user_id=params.user_id)
    return ContractJSON(await service.subscriptions_of(db=rt.db, user_id=user["id"]))


@router.post(
    "/api/subscriptions/update",
    name="api.update_subscription",
    response_model=SubscriptionUpdated,
    responses=USER_ERRORS,
)
async def update_subscription(
    rt: RuntimeDep, change: SubscriptionUpdate, init_data: InitData = None
) -> SubscriptionUpdated:
    user = await current_user(rt, init_data=init_data, user_id=change.user_id)
    subscribe = change.action == "subscribe"
    await service.change_subscription(
        db=rt.db, user_id=user["id"], category=change.category, subscribe=subscribe
    )
    return SubscriptionUpdated(success=True, category=change.category, subscribed=subscribe)


@router.delete(
    "/api/subscriptions/{category}",
    name="api.delete_subscription",
    response_model=Success,
    responses=USER_ERRORS,
)
async def delete_subscription(
    rt: RuntimeDep,
    path: Annotated[SubscriptionPath, Path()],
    params: Annotated[UserQuery, Query()],
    init_data: InitData = None,
) -> Success:
    user = await current_user(rt, init_data=init_data, user_id=params.user_id)
    await service.remove_subscription(db=rt.db, user_id=user["id"], category=path.category)
    return Success(success=True)
