from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from async_api.deps import Db
from async_api.errors import error_responses
from async_api.news import service
from async_api.news.schemas import LatestNewsResponse
from shared.contracts.news import LatestNewsQuery

router = APIRouter(tags=["news"])


@router.get(
    "/api/news/latest",
    name="news.latest_news",
    response_model=LatestNewsResponse,
    responses=error_responses(400, 503),
)
async def latest_news(db: Db, params: Annotated[LatestNewsQuery, Query()]) -> dict:
    items = await service.latest_news(db=db, category=params.category, limit=params.limit)
    return {"news": items, "count": len(items)}
