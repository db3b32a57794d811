"""`/api/news`: the hot news endpoints."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from legacy_flask.extensions import run, runtime
from legacy_flask.validation import query
from shared.contracts.common import page
from shared.contracts.news import LatestNewsQuery, NewsPageQuery
from shared.database.queries.news import latest_news as select_latest_news
from shared.database.queries.news import news_from_source, news_in_category, trending_news
from shared.database.queries.news import news_stats as select_news_stats
from shared.errors import not_found

news = Blueprint("news", __name__, url_prefix="/api/news")


@news.get("/latest")
def latest_news() -> Response:
    params = query(LatestNewsQuery)
    categories = [params.category] if params.category else None
    items = run(select_latest_news(runtime().db, categories=categories, limit=params.limit))
    return jsonify(news=items, count=len(items))


@news.get("/top")
def top_news() -> Response:
    params = query(NewsPageQuery)
    items, total = run(
        trending_news(runtime().db, hours=24, limit=params.limit, offset=params.offset)
    )
    return jsonify(page(items, total=total, limit=params.limit, offset=params.offset))


@news.get("/by-source/<source>")
def news_by_source(source: str) -> Response:
    params = query(NewsPageQuery)
    found = run(
        news_from_source(runtime().db, source=source, limit=params.limit, offset=params.offset)
    )
    if found is None:
        raise not_found("source")
    items, total = found
    return jsonify(page(items, total=total, limit=params.limit, offset=params.offset))


@news.get("/category/<category>")
def news_by_category(category: str) -> Response:
    params = query(NewsPageQuery)
    found = run(
        news_in_category(runtime().db, category=category, limit=params.limit, offset=params.offset)
    )
    if found is None:
        raise not_found("category")
    items, total = found
    return jsonify(page(items, total=total, limit=params.limit, offset=params.offset))


@news.get("/stats")
def news_stats() -> Response:
    return jsonify(run(select_news_stats(runtime().db)))
