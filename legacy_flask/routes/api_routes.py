"""`/api`: health and version, categories and sources, news, subscriptions, users and
preferences, the Telegram webhook, digests and digest jobs, bookmarks, notifications."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from legacy_flask.auth import (
    check_registration,
    current_user,
    reader_id,
    require_webhook_secret,
)
from legacy_flask.extensions import run, runtime
from legacy_flask.validation import body, init_data, query
from shared.categories import CATEGORIES, category_structure
from shared.contracts.bookmarks import BookmarkPath, BookmarksQuery, NewBookmark
from shared.contracts.common import page
from shared.contracts.digest import DigestHistoryQuery, DigestPath, DigestRequest
from shared.contracts.news import (
    NewsFeedback,
    NewsListQuery,
    NewsSearchQuery,
    TrendingNewsQuery,
)
from shared.contracts.notifications import NotificationPath, NotificationsQuery
from shared.contracts.preferences import PreferencesUpdate
from shared.contracts.subscriptions import SubscriptionPath, SubscriptionUpdate, UserQuery
from shared.contracts.telegram import TelegramWebhook
from shared.contracts.users import NewUser, UserPath
from shared.contracts.validation import validate
from shared.database.queries.bookmarks import ALREADY_BOOKMARKED, bookmarked_news
from shared.database.queries.bookmarks import add_bookmark as save_bookmark
from shared.database.queries.bookmarks import remove_bookmark as delete_bookmark
from shared.database.queries.digest_jobs import job_by_id
from shared.database.queries.digests import digest_by_id, digests_of_user
from shared.database.queries.news import list_news as select_news
from shared.database.queries.news import news_by_id, record_feedback
from shared.database.queries.news import search_news as select_matching_news
from shared.database.queries.news import trending_news as select_trending_news
from shared.database.queries.notifications import mark_read, notifications_of
from shared.database.queries.preferences import preferences_of
from shared.database.queries.preferences import update_preferences as store_preferences
from shared.database.queries.sources import enabled_sources
from shared.database.queries.subscriptions import list_subscriptions, subscribe, unsubscribe
from shared.database.queries.users import activity_counts, user_item
from shared.digest import DIGEST_OPTIONS
from shared.digest import generate_digest as build_digest
from shared.digest_jobs import canonical_job_id, start_digest_job
from shared.errors import ApiError, not_found
from shared.system import health as database_health
from shared.system import version as version_info
from shared.telegram_webhook import handle_webhook
from shared.users import register_user

api = Blueprint("api", __name__, url_prefix="/api")


@api.get("/categories")
def get_categories() -> Response:
    return jsonify(categories=list(CATEGORIES), structure=category_structure())


@api.get("/subscriptions")
def get_subscriptions() -> Response:
    params = query(UserQuery)
    user = current_user(params.user_id)
    subscriptions = run(list_subscriptions(runtime().db, user_id=user["id"]))
    subscribed = {item["category"] for item in subscriptions}
    return jsonify(
        user_id=user["id"],
        subscriptions=subscriptions,
        categories=[{"name": name, "subscribed": name in subscribed} for name in CATEGORIES],
    )


@api.post("/subscriptions/update")
def update_subscription() -> Response:
    change = body(SubscriptionUpdate)
    user = current_user(change.user_id)
    db = runtime().db
    if change.action == "subscribe":
        run(subscribe(db, user_id=user["id"], category=change.category))
    else:
        run(unsubscribe(db, user_id=user["id"], category=change.category))
    return jsonify(success=True, category=change.category, subscribed=change.action == "subscribe")


@api.delete("/subscriptions/<category>")
def delete_subscription(category: str) -> Response:
    path = validate(SubscriptionPath, {"category": category})
    params = query(UserQuery)
    user = current_user(params.user_id)
    if not run(unsubscribe(runtime().db, user_id=user["id"], category=path.category)):
        raise not_found("subscription")
    return jsonify(success=True)


@api.post("/telegram/webhook")
def telegram_webhook() -> Response:
    require_webhook_secret()
    payload = body(TelegramWebhook)
    return jsonify(ok=True, user_id=run(handle_webhook(runtime().db, payload=payload)))


@api.post("/digest/generate")
def generate_digest() -> Response:
    request = body(DigestRequest)
    user_id = None
    if request.user_id is not None or init_data():
        user_id = current_user(request.user_id)["id"]
    rt = runtime()
    digest = run(
        build_digest(db=rt.db, writer=rt.writer, params=request.params(), user_id=user_id),
        # The AI call has its own timeout (a 504); the bridge must outwait it.
        timeout=rt.settings.ai_timeout_seconds + rt.settings.bridge_timeout_seconds,
    )
    return jsonify(digest=digest)


# --- news, sources, health, version ------------------------------------------------------


@api.get("/health")
def health() -> tuple[Response, int]:
    body, status = run(database_health(runtime().db))
    return jsonify(body), status


@api.get("/version")
def version() -> Response:
    return jsonify(version_info())


@api.get("/sources")
def list_sources() -> Response:
    return jsonify(sources=run(enabled_sources(runtime().db)))


@api.get("/news")
def list_news() -> Response:
    params = query(NewsListQuery)
    items, total = run(
        select_news(
            runtime().db,
            categories=params.categories,
            source=params.source,
            since=params.since,
            until=params.until,
            order=params.order,
            limit=params.limit,
            offset=params.offset,
        )
    )
    return jsonify(page(items, total=total, limit=params.limit, offset=params.offset))


@api.get("/news/<int:news_id>")
def get_news(news_id: int) -> Response:
    item = run(news_by_id(runtime().db, news_id=news_id))
    if item is None:
        raise not_found("news item")
    return jsonify(item)


@api.get("/news/search")
def search_news() -> Response:
    params = query(NewsSearchQuery)
    items, total = run(
        select_matching_news(runtime().db, q=params.q, limit=params.limit, offset=params.offset)
    )
    return jsonify(page(items, total=total, limit=params.limit, offset=params.offset))


@api.get("/news/trending")
def trending_news() -> Response:
    params = query(TrendingNewsQuery)
    items, total = run(
        select_trending_news(
            runtime().db, hours=params.hours, limit=params.limit, offset=params.offset
        )
    )
    return jsonify(page(items, total=total, limit=params.limit, offset=params.offset))


@api.post("/news/<int:news_id>/feedback")
def news_feedback(news_id: int) -> Response:
    vote = body(NewsFeedback)
    user = current_user(vote.user_id)
    counts = run(
        record_feedback(runtime().db, news_id=news_id, user_id=user["id"], value=vote.value)
    )
    if counts is None:
        raise not_found("news item")
    return jsonify(counts)


# --- users, preferences, digest jobs and history, bookmarks, notifications ---------------


@api.post("/users")
def create_user() -> tuple[Response, int]:
    new = body(NewUser)
    rt = runtime()
    check_registration(new.telegram_id)
    row, created = run(
        register_user(
            rt.db, telegram_id=new.telegram_id, username=new.username, language=new.language
        )
    )
    return jsonify(user=user_item(row), created=created), 201 if created else 200


# The path's user is the acting user: the identity rules of user-scoped endpoints apply.
@api.get("/users/<int:user_id>")
def get_user(user_id: int) -> Response:
    path = validate(UserPath, {"user_id": user_id})
    user = current_user(path.user_id)
    counts = run(activity_counts(runtime().db, user_id=user["id"]))
    return jsonify(user={**user_item(user), **counts})


@api.get("/users/<int:user_id>/preferences")
def get_preferences(user_id: int) -> Response:
    path = validate(UserPath, {"user_id": user_id})
    user = current_user(path.user_id)
    return jsonify(run(preferences_of(runtime().db, user=user)))


@api.put("/users/<int:user_id>/preferences")
def update_preferences(user_id: int) -> Response:
    path = validate(UserPath, {"user_id": user_id})
    update = body(PreferencesUpdate)
    user = current_user(path.user_id)
    return jsonify(run(store_preferences(runtime().db, user=user, changes=update.changes())))


@api.post("/digest/jobs")
def create_digest_job() -> tuple[Response, int]:
    request = body(DigestRequest)
    user_id = None
    # With a bot token a job is only ever readable by its owner: no owner, no job.
    if request.user_id is not None or init_data() or runtime().settings.telegram_bot_token:
        user_id = current_user(request.user_id)["id"]
    rt = runtime()
    job_id = run(start_digest_job(db=rt.db, jobs=rt.jobs, params=request.params(), user_id=user_id))
    return jsonify(job_id=job_id, status="queued"), 202


@api.get("/digest/jobs/<job_id>")
def get_digest_job(job_id: str) -> Response:
    owner_id = reader_id()
    canonical = canonical_job_id(job_id)
    job = run(job_by_id(runtime().db, job_id=canonical, owner_id=owner_id)) if canonical else None
    if job is None:
        raise not_found("digest job")
    return jsonify(job)


@api.get("/digest/history")
def digest_history() -> Response:
    params = query(DigestHistoryQuery)
    user = current_user(params.user_id)
    items, total = run(
        digests_of_user(runtime().db, user_id=user["id"], limit=params.limit, offset=params.offset)
    )
    return jsonify(page(items, total=total, limit=params.limit, offset=params.offset))


@api.get("/digest/<int:digest_id>")
def get_digest(digest_id: int) -> Response:
    path = validate(DigestPath, {"digest_id": digest_id})
    owner_id = reader_id()
    digest = run(digest_by_id(runtime().db, digest_id=path.digest_id, owner_id=owner_id))
    if digest is None:
        raise not_found("digest")
    return jsonify(digest=digest)


@api.get("/digest/options")
def digest_options() -> Response:
    return jsonify({name: list(choices) for name, choices in DIGEST_OPTIONS.items()})


@api.get("/bookmarks")
def list_bookmarks() -> Response:
    params = query(BookmarksQuery)
    user = current_user(params.user_id)
    items, total = run(
        bookmarked_news(runtime().db, user_id=user["id"], limit=params.limit, offset=params.offset)
    )
    return jsonify(page(items, total=total, limit=params.limit, offset=params.offset))


@api.post("/bookmarks")
def add_bookmark() -> tuple[Response, int]:
    bookmark = body(NewBookmark)
    user = current_user(bookmark.user_id)
    outcome = run(save_bookmark(runtime().db, user_id=user["id"], news_id=bookmark.news_id))
    if outcome == "unknown_news":
        raise not_found("news item")
    if outcome == "exists":
        raise ApiError("conflict", ALREADY_BOOKMARKED)
    return jsonify(success=True, news_id=bookmark.news_id), 201


@api.delete("/bookmarks/<int:news_id>")
def remove_bookmark(news_id: int) -> Response:
    path = validate(BookmarkPath, {"news_id": news_id})
    params = query(UserQuery)
    user = current_user(params.user_id)
    if not run(delete_bookmark(runtime().db, user_id=user["id"], news_id=path.news_id)):
        raise not_found("bookmark")
    return jsonify(success=True, news_id=path.news_id)


@api.get("/notifications")
def list_notifications() -> Response:
    params = query(NotificationsQuery)
    user = current_user(params.user_id)
    items, total = run(
        notifications_of(
            runtime().db,
            user_id=user["id"],
            unread_only=params.unread_only,
            limit=params.limit,
            offset=params.offset,
        )
    )
    return jsonify(page(items, total=total, limit=params.limit, offset=params.offset))


# `user_id` in the query string, as on the other writes whose path names the resource.
@api.post("/notifications/<int:notification_id>/read")
def mark_notification_read(notification_id: int) -> Response:
    path = validate(NotificationPath, {"notification_id": notification_id})
    params = query(UserQuery)
    user = current_user(params.user_id)
    notification = run(
        mark_read(runtime().db, user_id=user["id"], notification_id=path.notification_id)
    )
    if notification is None:
        raise not_found("notification")
    return jsonify(notification=notification)
