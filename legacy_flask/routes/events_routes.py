"""`/api/events`: see docs/api.md."""

from __future__ import annotations

import time
from collections.abc import Iterator

from flask import Blueprint, Response, jsonify, request, stream_with_context

from legacy_flask.auth import require_admin
from legacy_flask.extensions import run, runtime
from legacy_flask.validation import body, query
from shared import events_stream as sse
from shared.contracts.common import PageQuery, page
from shared.contracts.events import (
    CalendarQuery,
    EventCreate,
    EventListQuery,
    EventPath,
    EventSearchQuery,
    EventStreamQuery,
    EventUpdate,
    UpcomingQuery,
)
from shared.contracts.validation import validate
from shared.database.queries import events as queries
from shared.database.queries.events import ChangeCursor
from shared.database.rows import utcnow
from shared.errors import ApiError, not_found
from shared.settings import Settings

events = Blueprint("events", __name__, url_prefix="/api/events")


def _event_id(event_id: int) -> int:
    return validate(EventPath, {"event_id": event_id}).event_id


@events.get("/")
def list_events() -> Response:
    params = query(EventListQuery)
    items, total = run(
        queries.list_events(
            runtime().db,
            category=params.category,
            starts_from=params.starts_from,
            starts_to=params.starts_to,
            importance_min=params.importance_min,
            limit=params.limit,
            offset=params.offset,
        )
    )
    return jsonify(page(items, total=total, limit=params.limit, offset=params.offset))


@events.get("/<int:event_id>")
def get_event(event_id: int) -> Response:
    event_id = _event_id(event_id)
    item = run(queries.event_by_id(runtime().db, event_id=event_id))
    if item is None:
        raise not_found("event")
    return jsonify(item)


@events.get("/upcoming")
def upcoming_events() -> Response:
    params = query(UpcomingQuery)
    items, total = run(
        queries.upcoming_events(
            runtime().db, now=utcnow(), days=params.days, limit=params.limit, offset=params.offset
        )
    )
    return jsonify(page(items, total=total, limit=params.limit, offset=params.offset))


@events.get("/today")
def today_events() -> Response:
    params = query(PageQuery)
    items, total = run(
        queries.today_events(runtime().db, now=utcnow(), limit=params.limit, offset=params.offset)
    )
    return jsonify(page(items, total=total, limit=params.limit, offset=params.offset))


@events.get("/calendar")
def calendar() -> Response:
    params = query(CalendarQuery)
    days = run(queries.calendar_month(runtime().db, month=params.month))
    return jsonify(month=params.month, days=days)


@events.get("/search")
def search_events() -> Response:
    params = query(EventSearchQuery)
    items, total = run(
        queries.search_events(runtime().db, q=params.q, limit=params.limit, offset=params.offset)
    )
    return jsonify(page(items, total=total, limit=params.limit, offset=params.offset))


@events.get("/categories")
def event_categories() -> Response:
    return jsonify(categories=run(queries.upcoming_by_category(runtime().db, now=utcnow())))


@events.post("")
def create_event() -> Response:
    actor = require_admin()
    new = body(EventCreate)
    item = run(queries.create_event(runtime().db, actor=actor, fields=new.model_dump()))
    response = jsonify(item)
    response.status_code = 201
    response.headers["Location"] = f"/api/events/{item['id']}"
    return response


@events.put("/<int:event_id>")
def update_event(event_id: int) -> Response:
    actor = require_admin()
    event_id = _event_id(event_id)
    change = body(EventUpdate)
    item = run(
        queries.update_event(runtime().db, actor=actor, event_id=event_id, changes=change.changes())
    )
    if item is None:
        raise not_found("event")
    return jsonify(item)


@events.delete("/<int:event_id>")
def delete_event(event_id: int) -> Response:
    actor = require_admin()
    event_id = _event_id(event_id)
    if not run(queries.delete_event(runtime().db, actor=actor, event_id=event_id)):
        raise not_found("event")
    response = Response(status=204)
    del response.headers["Content-Type"]  # no body, so no type: as the async half answers
    return response


@events.get("/stream")
def stream_events() -> Response:
    params = query(EventStreamQuery)
    cursor = sse.start_cursor(
        since=params.since, last_event_id=request.headers.get(sse.LAST_EVENT_ID_HEADER)
    )
    changes = _changes(runtime().settings, cursor)
    return Response(stream_with_context(changes), mimetype=sse.MEDIA_TYPE, headers=sse.HEADERS)


def _changes(settings: Settings, cursor: ChangeCursor) -> Iterator[str]:
    """The stream on this request's thread, which it holds until the stream ends."""
    schedule = sse.StreamSchedule(settings, now=time.monotonic())
    yield sse.opening(cursor)
    db = runtime().db
    while not schedule.over(now := time.monotonic()):
        if schedule.poll_due(now):
            try:
                batch = run(queries.changed_events(db, after=cursor, limit=sse.BATCH))
            except ApiError:  # database down or slow: end here, and the client reconnects
                return
            for cursor, item in batch:  # each message moves the cursor on
                yield sse.event_message(cursor, item)
            schedule.polled(time.monotonic(), rows=len(batch))
        if schedule.beat_due(time.monotonic()):
            yield sse.HEARTBEAT
        time.sleep(schedule.pause(time.monotonic()))
