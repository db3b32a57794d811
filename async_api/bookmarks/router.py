from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from async_api.bookmarks import service
from async_api.bookmarks.schemas import BookmarkChanged, BookmarkList
from async_api.deps import InitData, RuntimeDep
from async_api.errors import USER_ERRORS, error_responses
from async_api.identity import current_user
from shared.contracts.bookmarks import BookmarkPath, BookmarksQuery, NewBookmark
from shared.contracts.subscriptions import UserQuery

router = APIRouter(tags=["bookmarks"])


@router.get(
    "/api/bookmarks",
    name="api.list_bookmarks",
    response_model=BookmarkList,
    responses=USER_ERRORS,
)
async def list_bookmarks(
    rt: RuntimeDep, params: Annotated[BookmarksQuery, Query()], init_data: InitData = None
) -> dict:
    user = await current_user(rt, init_data=init_data, user_id=params.user_id)
    return await service.bookmarks_of(
        db=rt.db, user_id=user["id"], limit=params.limit, offset=params.offset
    )


@router.post(
    "/api/bookmarks",
    name="api.add_bookmark",
    status_code=status.HTTP_201_CREATED,
    response_model=BookmarkChanged,
    responses=error_responses(400, 401, 403, 404, 409, 503),
)
async def add_bookmark(
    rt: RuntimeDep, bookmark: NewBookmark, init_data: InitData = None
) -> BookmarkChanged:
    user = await current_user(rt, init_data=init_data, user_id=bookmark.user_id)
    await service.add_bookmark(db=rt.db, user_id=user["id"], news_id=bookmark.news_id)
    return BookmarkChanged(success=True, news_id=bookmark.news_id)


@router.delete(
    "/api/bookmarks/{news_id:int}",
    name="api.remove_bookmark",
    response_model=BookmarkChanged,
    responses=USER_ERRORS,
)
async def remove_bookmark(
    rt: RuntimeDep,
    path: Annotated[BookmarkPath, Path()],
    params: Annotated[UserQuery, Query()],
    init_data: InitData = None,
) -> BookmarkChanged:
    user = await current_user(rt, init_data=init_data, user_id=params.user_id)
    await service.remove_bookmark(db=rt.db, user_id=user["id"], news_id=path.news_id)
    return BookmarkChanged(success=True, news_id=path.news_id)
