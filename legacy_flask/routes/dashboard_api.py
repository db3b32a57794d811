"""`/api/dashboard`: see docs/api.md.

Public, as the catalogue lists them (no admin token). The summary runs its figures one
after the other here; the async half gathers them. The answers are the same.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from legacy_flask.extensions import run, runtime
from legacy_flask.validation import query
from shared.contracts.dashboard import ActivityQuery, DaysQuery
from shared.database.queries import dashboard as figures
from shared.database.rows import utcnow

dashboard = Blueprint("dashboard", __name__, url_prefix="/api/dashboard")


@dashboard.get("/news/today")
def news_today() -> Response:
    return jsonify(run(figures.news_today(runtime().db, now=utcnow())))


@dashboard.get("/news/week")
def news_week() -> Response:
    return jsonify(run(figures.news_week(runtime().db, now=utcnow())))


@dashboard.get("/news/by-category")
def news_by_category() -> Response:
    params = query(DaysQuery)
    return jsonify(run(figures.news_by_category(runtime().db, now=utcnow(), days=params.days)))


@dashboard.get("/news/by-source")
def news_by_source() -> Response:
    params = query(DaysQuery)
    return jsonify(run(figures.news_by_source(runtime().db, now=utcnow(), days=params.days)))


@dashboard.get("/events/upcoming")
def events_upcoming() -> Response:
    return jsonify(run(figures.events_upcoming(runtime().db, now=utcnow())))


@dashboard.get("/users")
def users() -> Response:
    return jsonify(run(figures.user_figures(runtime().db, now=utcnow())))


@dashboard.get("/subscriptions")
def subscriptions() -> Response:
    return jsonify(run(figures.subscription_figures(runtime().db)))


@dashboard.get("/digests")
def digests() -> Response:
    return jsonify(run(figures.digest_figures(runtime().db, now=utcnow())))


@dashboard.get("/activity")
def activity() -> Response:
    params = query(ActivityQuery)
    db = runtime().db
    return jsonify(run(figures.recent_activity(db, limit=params.limit, offset=params.offset)))


@dashboard.get("/summary")
def summary() -> Response:
    parts = figures.summary_parts(runtime().db, now=utcnow())
    return jsonify({key: run(start()) for key, start in parts.items()})
