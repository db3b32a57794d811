"""`/webapp`: the Telegram WebApp's pages and its two JSON endpoints; see docs/api.md."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from legacy_flask.auth import current_user, request_client
from legacy_flask.extensions import run, runtime
from legacy_flask.validation import body, query
from shared.contracts.common import page
from shared.contracts.webapp import AuthRequest, EventsPageQuery, FeedQuery, NewsPageQuery
from shared.database.queries.news import latest_news
from shared.database.queries.users import user_item
from shared.database.queries.webapp import subscribed_news, upcoming_events
from shared.database.rows import utcnow
from shared.web import webapp as pages
from shared.web.security import page_headers
from shared.web.templating import HTML
from shared.webapp_auth import sign_in

webapp = Blueprint("webapp", __name__, url_prefix="/webapp")


def _html(text: str) -> Response:
    """A rendered page, with the exact content type the async half's HTMLResponse sends."""
    return Response(text, content_type=HTML, headers=page_headers(text, framed_by_telegram=True))


@webapp.get("/")
def index() -> Response:
    return _html(pages.index_page())


@webapp.get("/news")
def news_page() -> Response:
    params = query(NewsPageQuery)
    categories = [params.category] if params.category else None
    items = run(latest_news(runtime().db, categories=categories, limit=pages.NEWS_PAGE_SIZE))
    return _html(pages.news_page(items=items, category=params.category))


@webapp.get("/events")
def events_page() -> Response:
    params = query(EventsPageQuery)
    events = run(
        upcoming_events(
            runtime().db, now=utcnow(), category=params.category, limit=pages.EVENTS_PAGE_SIZE
        )
    )
    return _html(pages.events_page(events=events, category=params.category))


@webapp.get("/digest")
def digest_page() -> Response:
    return _html(pages.digest_page())


@webapp.get("/subscriptions")
def subscriptions_page() -> Response:
    return _html(pages.subscriptions_page())


@webapp.get("/settings")
def settings_page() -> Response:
    return _html(pages.settings_page())


@webapp.post("/api/auth")
def auth() -> Response:
    signing_in = body(AuthRequest)
    rt = runtime()
    user = run(
        sign_in(
            rt.db,
            init_data=signing_in.init_data,
            bot_token=rt.settings.telegram_bot_token,
            guard=rt.auth_guard,
            client=request_client(),
        )
    )
    return jsonify(user=user_item(user))


@webapp.get("/api/feed")
def feed() -> Response:
    params = query(FeedQuery)
    user = current_user(params.user_id)
    items, total = run(
        subscribed_news(runtime().db, user_id=user["id"], limit=params.limit, offset=params.offset)
    )
    return jsonify(page(items, total=total, limit=params.limit, offset=params.offset))
