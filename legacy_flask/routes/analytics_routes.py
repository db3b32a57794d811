"""`/api/analytics`: see docs/api.md."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from legacy_flask.auth import current_user, require_admin
from legacy_flask.extensions import run, runtime
from legacy_flask.validation import body, init_data, query
from shared.contracts.analytics import (
    ActivityPath,
    DaysQuery,
    EventsQuery,
    FunnelQuery,
    TrackEvent,
)
from shared.contracts.common import PageQuery, page
from shared.contracts.validation import validate
from shared.database.queries import analytics as queries

analytics = Blueprint("analytics", __name__, url_prefix="/api/analytics")


@analytics.post("/track")
def track() -> tuple[Response, int]:
    event = body(TrackEvent)
    user_id = None
    if event.user_id is not None or init_data():
        user_id = current_user(event.user_id)["id"]
    run(
        queries.record_event(
            runtime().db, name=event.event, user_id=user_id, props=event.props or {}
        )
    )
    return jsonify(accepted=True), 202


@analytics.get("/events")
def list_events() -> Response:
    require_admin()
    params = query(EventsQuery)
    items, total = run(
        queries.list_events(
            runtime().db,
            name=params.name,
            since=params.since,
            user_id=params.user_id,
            limit=params.limit,
            offset=params.offset,
        )
    )
    return jsonify(page(items, total=total, limit=params.limit, offset=params.offset))


@analytics.get("/popular-categories")
def popular_categories() -> Response:
    params = query(DaysQuery)
    return jsonify(run(queries.popular_categories(runtime().db, days=params.days)))


@analytics.get("/users/<int:user_id>/activity")
def user_activity(user_id: int) -> Response:
    path = validate(ActivityPath, {"user_id": user_id})
    params = query(PageQuery)
    user = current_user(path.user_id)
    items, total = run(
        queries.list_events(
            runtime().db, user_id=user["id"], limit=params.limit, offset=params.offset
        )
    )
    return jsonify(page(items, total=total, limit=params.limit, offset=params.offset))


@analytics.get("/funnel")
def funnel() -> Response:
    params = query(FunnelQuery)
    steps = params.step_names()
    return jsonify(run(queries.funnel(runtime().db, steps=steps, days=params.days)))
