"""`/webapp`: the Telegram WebApp's pages (HTML, the same templates as the legacy half)
and its two JSON endpoints."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from async_api.contract_json import ContractJSON
from async_api.deps import Db, InitData, RuntimeDep, runtime_of
from async_api.errors import error_responses
from async_api.identity import current_user, request_client
from async_api.routing import QueryModelRoute
from async_api.webapp import service
from async_api.webapp.schemas import AuthResponse, FeedPage
from shared.contracts.webapp import AuthRequest, EventsPageQuery, FeedQuery, NewsPageQuery
from shared.web import webapp as pages
from shared.web.security import page_headers

router = APIRouter(tags=["webapp"], route_class=QueryModelRoute)

# A page's errors are the API's JSON shape, not HTML. FastAPI would list an error `model`
# under the route's own media type (text/html), so the content is spelt out; the schema is
# registered by this router's JSON routes, which name `ErrorResponse` via `error_responses`.
_JSON_ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}
_BAD_FILTER = {
    400: "An unknown `category`: the JSON error shape, not a page",
    503: "The database is unreachable (JSON error shape)",
}


def _html(text: str) -> HTMLResponse:
    return HTMLResponse(text, headers=page_headers(text, framed_by_telegram=True))


def _page(description: str, errors: dict[int, str] | None = None) -> dict[str, Any]:
    """A page's route options: HTML on success, the catalogue's JSON shape on errors."""
    return {
        "response_class": HTMLResponse,
        "responses": {
            200: {"description": description, "content": {"text/html": {}}},
            **{
                status: {"description": when, "content": _JSON_ERROR}
                for status, when in (errors or {}).items()
            },
        },
    }


@router.get("/webapp/", name="webapp.index", **_page("The WebApp shell: the user's feed"))
async def index() -> HTMLResponse:
    return _html(pages.index_page())


@router.get(
    "/webapp/news",
    name="webapp.news_page",
    **_page("The latest news, server-rendered, optionally of one category", _BAD_FILTER),
)
async def news_page(db: Db, params: Annotated[NewsPageQuery, Query()]) -> HTMLResponse:
    return _html(await service.news_page(db=db, category=params.category))


@router.get(
    "/webapp/events",
    name="webapp.events_page",
    **_page("Upcoming events, server-rendered, optionally of one category", _BAD_FILTER),
)
async def events_page(db: Db, params: Annotated[EventsPageQuery, Query()]) -> HTMLResponse:
    return _html(await service.events_page(db=db, category=params.category))


@router.get("/webapp/digest", name="webapp.digest_page", **_page("Pick options, generate, read"))
async def digest_page() -> HTMLResponse:
    return _html(pages.digest_page())


@router.get(
    "/webapp/subscriptions",
    name="webapp.subscriptions_page",
    **_page("Follow and unfollow categories"),
)
async def subscriptions_page() -> HTMLResponse:
    return _html(pages.subscriptions_page())


@router.get("/webapp/settings", name="webapp.settings_page", **_page("Digest preferences"))
async def settings_page() -> HTMLResponse:
    return _html(pages.settings_page())


@router.post(
    "/webapp/api/auth",
    name="webapp.auth",
    response_model=AuthResponse,
    responses=error_responses(400, 401, 403, 503),
)
async def auth(rt: RuntimeDep, signing_in: AuthRequest) -> dict[str, Any]:
    return await service.authenticate(
        db=rt.db,
        init_data=signing_in.init_data,
        bot_token=rt.settings.telegram_bot_token,
        guard=rt.auth_guard,
        client=request_client(),
    )


@router.get(
    "/webapp/api/feed",
    name="webapp.feed",
    response_model=FeedPage,
    responses=error_responses(400, 401, 403, 404, 503),
)
async def feed(
    request: Request, params: Annotated[FeedQuery, Query()], init_data: InitData = None
) -> ContractJSON:
    rt = runtime_of(request)
    user = await current_user(rt, init_data=init_data, user_id=params.user_id)
    found = await service.feed(
        db=rt.db, user_id=user["id"], limit=params.limit, offset=params.offset
    )
    return ContractJSON(found)
