"""The FastAPI application factory for the async half."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.telemetry import TelemetryConfig
from starlette.types import Message

from async_api.admin.router import router as admin_router
from async_api.analytics.router import router as analytics_router
from async_api.bookmarks.router import router as bookmarks_router
from async_api.categories.router import router as categories_router
from async_api.config.router import router as config_router
from async_api.dashboard.router import router as dashboard_router
from async_api.digest.router import router as digest_router
from async_api.docs import add_offline_docs
from async_api.errors import register_error_handlers
from async_api.events.router import router as events_router
from async_api.head import HeadAsGet
from async_api.identity import RememberClient
from async_api.limits import BodySizeLimit
from async_api.metrics.router import router as metrics_router
from async_api.news.router import router as news_router
from async_api.notifications.router import router as notifications_router
from async_api.openapi import catalogue_openapi
from async_api.routing import index_literal_routes
from async_api.sources.router import router as sources_router
from async_api.subscriptions.router import router as subscriptions_router
from async_api.system.router import router as system_router
from async_api.telegram.router import router as telegram_router
from async_api.users.router import router as users_router
from async_api.webapp.router import router as webapp_router
from shared.runtime import Runtime
from shared.settings import Settings, get_settings

# FastAPI's OpenTelemetry bridge asks on every request whether a provider has been set
# up since the last one; the service reports through Prometheus (/metrics) and sets none.
NO_OPENTELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}

# One router per domain; each route's `name` is its manifest route id.
ROUTERS = (
    system_router,
    categories_router,
    sources_router,
    news_router,
    subscriptions_router,
    users_router,
    telegram_router,
    digest_router,
    bookmarks_router,
    notifications_router,
    events_router,
    admin_router,
    dashboard_router,
    config_router,
    metrics_router,
    analytics_router,
    webapp_router,
)


def create_app(*, settings: Settings | None = None, runtime: Runtime | None = None) -> FastAPI:
    """Build the async half.

    Under the gateway, the gateway's lifespan hands over the shared `runtime` (a mounted
    app's own lifespan never runs). Run bare (`uvicorn async_api.asgi:app`), the app opens
    its own runtime in its lifespan.
    """
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if getattr(app.state, "runtime", None) is not None:
            yield
            return
        app.state.runtime = await Runtime.open(settings)
        await warm_up(app)
        try:
            yield
        finally:
            await app.state.runtime.close()
            app.state.runtime = None

    app = FastAPI(
        title="News digest — async half",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # add_offline_docs: the same pages, without a CDN
        redoc_url=None,
        telemetry=NO_OPENTELEMETRY,
    )
    app.state.runtime = runtime
    app.openapi = lambda: catalogue_openapi(app)  # type: ignore[method-assign]
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(HeadAsGet)
    app.add_middleware(RememberClient)
    register_error_handlers(app)
    # Every route in the app's own table: `include_router` keeps each router as a node
    # that a request walks (17 of them, a match attempt each), and the routers have no
    # prefix or dependencies of their own to carry. FastAPI versions its tables: bumped.
    for router in ROUTERS:
        app.router.routes.extend(router.routes)
    app.router._mark_routes_changed()
    add_offline_docs(app)
    index_literal_routes(app.router.routes)
    return app


async def warm_up(app: FastAPI) -> None:
    """Build FastAPI's lazily built routing tables before serving: otherwise the first
    request through each router builds them on the loop (up to a few hundred ms held).
    A request that matches nothing walks, and so builds, every router; no I/O happens."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/_warm-up-matches-no-route",
        "raw_path": b"/_warm-up-matches-no-route",
        "root_path": "",
        "query_string": b"",
        "headers": [],
        "client": ("127.0.0.1", 0),
        "server": ("127.0.0.1", 0),
        "state": {},
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(_message: Message) -> None:
        return None

    await app(scope, receive, send)


def async_routes() -> dict[str, tuple[str, str]]:
    """Route id -> (method, path) for every endpoint of the async half."""
    routes: dict[str, tuple[str, str]] = {}
    for router in ROUTERS:
        for route in router.routes:
            methods = sorted(set(getattr(route, "methods", None) or ()) - {"HEAD"})
            if methods:  # the first registration is canonical (others are slash aliases)
                routes.setdefault(route.name, (methods[0], route.path))  # type: ignore[attr-defined]
    return routes
