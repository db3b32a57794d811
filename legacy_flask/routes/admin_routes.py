"""`/admin`: see docs/api.md."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from legacy_flask.auth import require_admin
from legacy_flask.extensions import run, runtime
from legacy_flask.validation import body, query
from shared.broadcast import (
    broadcast_result,
    plan_broadcast,
    require_bot_token,
    start_broadcast,
)
from shared.contracts.admin import (
    AuditQuery,
    BlockUser,
    BroadcastPath,
    BroadcastRequest,
    NewsCreate,
    NewsPath,
    SourceCreate,
    SourcePath,
    SourceUpdate,
    UserPath,
    UserSearchQuery,
)
from shared.contracts.common import page
from shared.contracts.validation import validate
from shared.database.queries import admin as queries
from shared.database.queries.audit import audit_entries
from shared.database.queries.broadcasts import broadcast_by_id
from shared.errors import not_found
from shared.feeds import fetch_result, pull_feed_sync, store_pull, sync_feed_client
from shared.ingest import (
    PROGRESS_PATH,
    ingest_answer,
    no_run,
    request_ingest,
    run_progress,
    wait_for_run,
)
from shared.web.admin import admin_page as render_admin_page
from shared.web.templating import HTML

admin = Blueprint("admin", __name__, url_prefix="/admin")


def _no_content() -> Response:
    response = Response(status=204)
    del response.headers["Content-Type"]  # Flask adds text/html even to an empty 204
    return response


@admin.get("/")
def admin_page() -> Response:
    # The shell carries no data and a browser cannot send a bearer header when it opens
    # a page, so the token is asked for by the page and checked by every API it calls.
    configured = bool(runtime().settings.admin_token)
    html, headers = render_admin_page(configured=configured)
    return Response(html, status=200 if configured else 503, content_type=HTML, headers=headers)


@admin.get("/api/stats")
def stats() -> Response:
    require_admin()
    return jsonify(run(queries.admin_counts(runtime().db)))


# --- users ---------------------------------------------------------------------------------


@admin.get("/api/users")
def list_users() -> Response:
    require_admin()
    params = query(UserSearchQuery)
    items, total = run(
        queries.search_users(runtime().db, q=params.q, limit=params.limit, offset=params.offset)
    )
    return jsonify(page(items, total=total, limit=params.limit, offset=params.offset))


@admin.get("/api/users/<int:user_id>")
def get_user(user_id: int) -> Response:
    require_admin()
    path = validate(UserPath, {"user_id": user_id})
    user = run(queries.user_detail(runtime().db, user_id=path.user_id))
    if user is None:
        raise not_found("user")
    return jsonify(user=user)


@admin.post("/api/users/<int:user_id>/block")
def block_user(user_id: int) -> Response:
    actor = require_admin()
    path = validate(UserPath, {"user_id": user_id})
    change = body(BlockUser)
    user = run(
        queries.set_user_blocked(
            runtime().db,
            actor=actor,
            user_id=path.user_id,
            blocked=change.blocked,
            reason=change.reason,
        )
    )
    return jsonify(user=user)


# --- sources -------------------------------------------------------------------------------


@admin.get("/api/sources")
def list_sources() -> Response:
    require_admin()
    return jsonify(sources=run(queries.all_sources(runtime().db)))


@admin.post("/api/sources")
def create_source() -> tuple[Response, int]:
    actor = require_admin()
    source = body(SourceCreate)
    created = run(queries.create_source(runtime().db, actor=actor, values=source.model_dump()))
    return jsonify(source=created), 201


@admin.put("/api/sources/<int:source_id>")
def update_source(source_id: int) -> Response:
    actor = require_admin()
    path = validate(SourcePath, {"source_id": source_id})
    update = body(SourceUpdate)
    updated = run(
        queries.update_source(
            runtime().db, actor=actor, source_id=path.source_id, changes=update.changes()
        )
    )
    return jsonify(source=updated)


@admin.delete("/api/sources/<int:source_id>")
def delete_source(source_id: int) -> Response:
    actor = require_admin()
    path = validate(SourcePath, {"source_id": source_id})
    run(queries.delete_source(runtime().db, actor=actor, source_id=path.source_id))
    return _no_content()


@admin.post("/api/sources/<int:source_id>/fetch")
def fetch_source(source_id: int) -> Response:
    actor = require_admin()
    path = validate(SourcePath, {"source_id": source_id})
    rt = runtime()
    source = run(queries.source_by_id(rt.db, source_id=path.source_id))
    if source is None:
        raise not_found("source")
    with sync_feed_client() as client:
        pull = pull_feed_sync(client, source, rt.settings)
    result = run(store_pull(rt.db, pull=pull, actor=actor, trigger="fetch"))
    return jsonify(fetch_result(result))


@admin.post("/api/ingest")
def ingest() -> Response:
    actor = require_admin()
    rt = runtime()
    # The same run the async half asks for (shared/ingest.py); a worker fetches the feeds.
    ingest_run = run(request_ingest(db=rt.db, jobs=rt.jobs, actor=actor, trigger="admin"))
    wait = rt.settings.ingest_wait_seconds
    progress = run(
        wait_for_run(rt.db, run=ingest_run, seconds=wait),
        timeout=wait + rt.settings.bridge_timeout_seconds,
    )
    status, answer = ingest_answer(progress)
    response = jsonify(answer)
    response.status_code = status
    if status == 202:
        response.headers["Location"] = PROGRESS_PATH
    return response


@admin.get("/api/ingest")
def ingest_progress() -> Response:
    require_admin()
    progress = run(run_progress(runtime().db))
    if progress is None:
        raise no_run()
    return jsonify(progress)


# --- news ----------------------------------------------------------------------------------


@admin.post("/api/news")
def create_news() -> tuple[Response, int]:
    actor = require_admin()
    item = body(NewsCreate)
    created = run(queries.create_news(runtime().db, actor=actor, values=item.model_dump()))
    return jsonify(news=created), 201


@admin.delete("/api/news/<int:news_id>")
def delete_news(news_id: int) -> Response:
    actor = require_admin()
    path = validate(NewsPath, {"news_id": news_id})
    run(queries.delete_news(runtime().db, actor=actor, news_id=path.news_id))
    return _no_content()


# --- audit log and broadcast ---------------------------------------------------------------


@admin.get("/api/audit")
def audit_log() -> Response:
    require_admin()
    params = query(AuditQuery)
    items, total = run(audit_entries(runtime().db, limit=params.limit, offset=params.offset))
    return jsonify(page(items, total=total, limit=params.limit, offset=params.offset))


@admin.post("/api/digest/broadcast")
def broadcast_digest() -> Response:
    actor = require_admin()
    request = body(BroadcastRequest)
    rt = runtime()
    require_bot_token(rt.settings, dry_run=request.dry_run)
    plan = run(
        plan_broadcast(
            db=rt.db, writer=rt.writer, category=request.category, dry_run=request.dry_run
        ),
        # The AI call has its own timeout (a 504); the bridge must outwait it.
        timeout=rt.settings.ai_timeout_seconds + rt.settings.bridge_timeout_seconds,
    )
    if request.dry_run:
        return jsonify(broadcast_result(plan, broadcast_id=None))
    # Recorded with a job per message: workers send them (shared/broadcast.py).
    started = run(
        start_broadcast(db=rt.db, jobs=rt.jobs, plan=plan, actor=actor, category=request.category)
    )
    return jsonify(started)


@admin.get("/api/digest/broadcast/<int:broadcast_id>")
def get_broadcast(broadcast_id: int) -> Response:
    require_admin()
    path = validate(BroadcastPath, {"broadcast_id": broadcast_id})
    found = run(broadcast_by_id(runtime().db, broadcast_id=path.broadcast_id))
    if found is None:
        raise not_found("broadcast")
    return jsonify(broadcast=found)
