from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from async_api.contract_json import ContractJSON
from async_api.deps import Db, InitData, RuntimeDep, runtime_of
from async_api.errors import error_responses
from async_api.identity import current_user
from async_api.news import service
from async_api.news.schemas import (
    FeedbackCounts,
    LatestNewsResponse,
    NewsDetail,
    NewsPage,
    NewsStats,
)
from async_api.routing import QueryModelRoute
from shared.contracts.news import (
    LatestNewsQuery,
    NewsFeedback,
    NewsListQuery,
    NewsPageQuery,
    NewsSearchQuery,
    TrendingNewsQuery,
)

router = APIRouter(tags=["news"], route_class=QueryModelRoute)


@router.get(
    "/api/news/latest",
    name="news.latest_news",
    response_model=LatestNewsResponse,
    responses=error_responses(400, 503),
)
async def latest_news(
    request: Request, params: Annotated[LatestNewsQuery, Query()]
) -> ContractJSON:
    db = runtime_of(request).db
    items = await service.latest_news(db=db, category=params.category, limit=params.limit)
    return ContractJSON({"news": items, "count": len(items)})


@router.get(
    "/api/news/top",
    name="news.top_news",
    response_model=NewsPage,
    responses=error_responses(400, 503),
)
async def top_news(db: Db, params: Annotated[NewsPageQuery, Query()]) -> dict[str, Any]:
    return await service.trending(db=db, hours=24, limit=params.limit, offset=params.offset)


@router.get(
    "/api/news/by-source/{source}",
    name="news.news_by_source",
    response_model=NewsPage,
    responses=error_responses(400, 404, 503),
)
async def news_by_source(
    db: Db, source: str, params: Annotated[NewsPageQuery, Query()]
) -> dict[str, Any]:
    return await service.from_source(db=db, source=source, limit=params.limit, offset=params.offset)


@router.get(
    "/api/news/category/{category}",
    name="news.news_by_category",
    response_model=NewsPage,
    responses=error_responses(400, 404, 503),
)
async def news_by_category(
    db: Db, category: str, params: Annotated[NewsPageQuery, Query()]
) -> dict[str, Any]:
    return await service.in_category(
        db=db, category=category, limit=params.limit, offset=params.offset
    )


@router.get(
    "/api/news/stats",
    name="news.news_stats",
    response_model=NewsStats,
    responses=error_responses(503),
)
async def news_stats(db: Db) -> dict[str, Any]:
    return await service.stats(db=db)


@router.get(
    "/api/news",
    name="api.list_news",
    response_model=NewsPage,
    responses=error_responses(400, 503),
)
async def list_news(request: Request, params: Annotated[NewsListQuery, Query()]) -> ContractJSON:
    found = await service.news_page(
        db=runtime_of(request).db,
        categories=params.categories,
        source=params.source,
        since=params.since,
        until=params.until,
        order=params.order,
        limit=params.limit,
        offset=params.offset,
    )
    return ContractJSON(found)


@router.get(
    "/api/news/{news_id:int}",
    name="api.get_news",
    response_model=NewsDetail,
    responses=error_responses(404, 503),
)
async def get_news(db: Db, news_id: int) -> dict[str, Any]:
    return await service.news_item(db=db, news_id=news_id)


@router.get(
    "/api/news/search",
    name="api.search_news",
    response_model=NewsPage,
    responses=error_responses(400, 503),
)
async def search_news(db: Db, params: Annotated[NewsSearchQuery, Query()]) -> dict[str, Any]:
    return await service.search(db=db, q=params.q, limit=params.limit, offset=params.offset)


@router.get(
    "/api/news/trending",
    name="api.trending_news",
    response_model=NewsPage,
    responses=error_responses(400, 503),
)
async def trending_news(db: Db, params: Annotated[TrendingNewsQuery, Query()]) -> dict[str, Any]:
    return await service.trending(
        db=db, hours=params.hours, limit=params.limit, offset=params.offset
    )


@router.post(
    "/api/news/{news_id:int}/feedback",
    name="api.news_feedback",
    response_model=FeedbackCounts,
    responses=error_responses(400, 401, 403, 404, 503),
)
async def news_feedback(
    rt: RuntimeDep, news_id: int, vote: NewsFeedback, init_data: InitData = None
) -> dict[str, int]:
    user = await current_user(rt, init_data=init_data, user_id=vote.user_id)
    return await service.give_feedback(
        db=rt.db, news_id=news_id, user_id=user["id"], value=vote.value
    )
