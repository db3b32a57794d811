"""The FastAPI application factory for the async half."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from async_api.categories.router import router as categories_router
from async_api.digest.router import router as digest_router
from async_api.errors import register_error_handlers
from async_api.news.router import router as news_router
from async_api.subscriptions.router import router as subscriptions_router
from async_api.telegram.router import router as telegram_router
from shared.runtime import Runtime
from shared.settings import Settings, get_settings

ROUTERS = (
    categories_router,
    news_router,
    subscriptions_router,
    telegram_router,
    digest_router,
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
        try:
            yield
        finally:
            await app.state.runtime.close()
            app.state.runtime = None

    app = FastAPI(
        title="News digest — async half",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    register_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    return app


def async_routes() -> dict[str, tuple[str, str]]:
    """Route id -> (method, path) for every endpoint of the async half."""
    routes: dict[str, tuple[str, str]] = {}
    for router in ROUTERS:
        for route in router.routes:
            methods = sorted(set(getattr(route, "methods", None) or ()) - {"HEAD"})
            if methods:
                routes[route.name] = (methods[0], route.path)  # type: ignore[attr-defined]
    return routes
