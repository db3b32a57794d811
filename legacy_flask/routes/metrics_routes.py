"""`/api/metrics`: see docs/api.md.

Per-process figures (this worker's uptime, requests, pool): public, as the catalogue
lists them. The AI check is a sync HTTP call here; the async half makes the same call.
"""

from __future__ import annotations

import httpx
from flask import Blueprint, Response, jsonify

from legacy_flask.extensions import run, runtime
from shared import metrics as figures
from shared.database.queries.metrics import content_totals, database_health
from shared.settings import Settings

metrics = Blueprint("metrics", __name__, url_prefix="/api/metrics")


def _ai_check(settings: Settings) -> dict:
    check = figures.ai_models_request(settings)
    if check is None:
        return figures.ai_figures(configured=False, status=None)
    url, headers = check
    try:
        with httpx.Client(timeout=figures.AI_CHECK_TIMEOUT, follow_redirects=True) as client:
            status: int | None = client.get(url, headers=headers).status_code
    except httpx.HTTPError:
        status = None
    return figures.ai_figures(configured=True, status=status)


@metrics.get("")
def process_metrics() -> Response:
    return jsonify(figures.process_figures(runtime()))


@metrics.get("/health")
def deep_health() -> Response:
    rt = runtime()
    database = run(database_health(rt.db))
    body = figures.health_body(database, _ai_check(rt.settings))
    response = jsonify(body)
    response.status_code = figures.health_status_code(body)
    return response


@metrics.get("/db")
def database() -> Response:
    return jsonify(figures.pool_figures(runtime().db))


@metrics.get("/routes")
def routes() -> Response:
    return jsonify(figures.route_figures(runtime()))


@metrics.get("/content")
def content() -> Response:
    return jsonify(run(content_totals(runtime().db)))
