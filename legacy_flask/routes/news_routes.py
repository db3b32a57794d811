"""`/api/news`: the hot news endpoints."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from legacy_flask.extensions import run, runtime
from legacy_flask.validation import query
from shared.contracts.news import LatestNewsQuery
from shared.database.queries.news import latest_news as select_latest_news

news = Blueprint("news", __name__, url_prefix="/api/news")


@news.get("/latest")
def latest_news() -> Response:
    params = query(LatestNewsQuery)
    categories = [params.category] if params.category else None
    items = run(select_latest_news(runtime().db, categories=categories, limit=params.limit))
    return jsonify(news=items, count=len(items))
