"""The Flask application factory."""

from __future__ import annotations

import time
from typing import Any

from flask import Flask, Response, g, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.sansio.response import Response as BaseResponse

from legacy_flask.errors import register_error_handlers
from shared.database.bridge import LoopBridge
from shared.runtime import Runtime, standalone_bridge
from shared.settings import Settings, get_settings


class CatalogueJSON(DefaultJSONProvider):
    """JSON exactly as the async half writes it: keys in order, UTF-8, compact, no newline."""

    sort_keys = False
    ensure_ascii = False

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        kwargs.setdefault("separators", (",", ":"))
        return super().dumps(obj, **kwargs)

    def response(self, *args: Any, **kwargs: Any) -> BaseResponse:  # as Flask's own provider
        obj = self._prepare_response_obj(args, kwargs)
        return self._app.response_class(self.dumps(obj), mimetype=self.mimetype)


def create_app(
    config: dict[str, Any] | None = None,
    *,
    settings: Settings | None = None,
    bridge: LoopBridge[Runtime] | None = None,
) -> Flask:
    """Build the legacy app. Without a `bridge` it owns a loop thread (standalone mode)."""
    from legacy_flask.routes import BLUEPRINTS

    settings = settings or get_settings()
    app = Flask(__name__, static_folder=None)
    app.json_provider_class = CatalogueJSON
    app.json = CatalogueJSON(app)
    app.config.update(MAX_CONTENT_LENGTH=settings.max_body_bytes, SETTINGS=settings)
    app.config.update(config or {})
    app.url_map.strict_slashes = False
    standalone = bridge is None
    app.extensions["loop_bridge"] = bridge or standalone_bridge(settings)
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    register_error_handlers(app)

    @app.before_request
    def refuse_large_bodies() -> None:
        # Before any view code (and its auth check), as the async half refuses them.
        length = request.content_length
        if length is None and request.environ.get("wsgi.input_terminated"):
            # A chunked body (gunicorn, `flask run`): werkzeug silently stops reading at
            # the limit, so it is read here to one byte past it, to tell "over" from "at".
            request.max_content_length = settings.max_body_bytes + 1
            length = len(request.get_data(cache=True))
        if length is not None and length > settings.max_body_bytes:
            raise RequestEntityTooLarge()

    if standalone:
        _record_requests(app)  # under the gateway, the gateway records every request
    return app


def _record_requests(app: Flask) -> None:
    """Per-process request figures for /api/metrics when no gateway is in front."""

    @app.before_request
    def start_clock() -> None:
        g.started = time.perf_counter()

    @app.after_request
    def record(response: Response) -> Response:
        route_id = request.url_rule.endpoint if request.url_rule else "unmatched"
        seconds = time.perf_counter() - g.get("started", time.perf_counter())
        app.extensions["loop_bridge"].resource.stats.record(
            route_id, "legacy", response.status_code, seconds
        )
        return response
