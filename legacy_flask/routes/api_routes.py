"""`/api`: categories, subscriptions, users, the Telegram webhook, digests, bookmarks."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from legacy_flask.auth import current_user, require_webhook_secret
from legacy_flask.extensions import run, runtime
from legacy_flask.validation import body, init_data, query
from shared.categories import CATEGORIES, category_structure
from shared.contracts.digest import DigestRequest
from shared.contracts.subscriptions import SubscriptionPath, SubscriptionUpdate, UserQuery
from shared.contracts.telegram import TelegramWebhook
from shared.contracts.validation import validate
from shared.database.queries.subscriptions import list_subscriptions, subscribe, unsubscribe
from shared.digest import generate_digest as build_digest
from shared.errors import not_found
from shared.telegram_webhook import handle_webhook

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


# --- users, preferences, digest jobs and history, bookmarks, notifications ---------------
