"""The ASGI root: FastAPI, with the Flask half mounted through a2wsgi."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from a2wsgi import WSGIMiddleware
from fastapi import FastAPI

from async_api.app import create_app as create_async_app
from gateway.dispatch import RouteDispatcher
from gateway.manifest import Manifest, RouteTable, load_manifest
from legacy_flask.app import create_app as create_legacy_app
from shared.runtime import Runtime, attached_bridge
from shared.settings import Settings, get_settings

log = logging.getLogger("gateway")


class Gateway:
    """What the dispatcher needs per request, swapped whole when the manifest changes."""

    def __init__(self, settings: Settings, manifest: Manifest) -> None:
        self.settings = settings
        self.manifest = manifest
        self.table = RouteTable(manifest)
        self.bridge = attached_bridge(settings)
        self.flask_app = create_legacy_app(settings=settings, bridge=self.bridge)
        # Each legacy request holds one of these threads for its whole life (including its
        # waits on the loop bridge), so this is the legacy half's concurrency: sized
        # explicitly rather than left to a2wsgi's default of 10.
        self.legacy_app = WSGIMiddleware(self.flask_app, workers=settings.legacy_threads)
        self.async_app = create_async_app(settings=settings)
        self.runtime: Runtime | None = None

    def use_manifest(self, manifest: Manifest) -> None:
        self.table = RouteTable(manifest)
        self.manifest = manifest

    def runtime_facts(self) -> dict[str, Any]:
        """Where the work happens: proof that both halves share one loop and one pool."""
        runtime = self.runtime
        facts: dict[str, Any] = {"pid": os.getpid(), "threads": threading.active_count()}
        if runtime is None:
            return facts
        db = runtime.db
        loop = self.bridge.loop
        facts.update(
            loop_id=id(loop) if loop else None,
            pool_id=id(db.pool),
            database_backend=db.backend,
            queries=db.queries,
            query_loop_ids=sorted(db.loops_seen),
            bridge={
                "calls": self.bridge.stats.calls,
                "timeouts": self.bridge.stats.timeouts,
                "loops_started": self.bridge.stats.loops_started,
                "wait_ms_max": round(self.bridge.stats.wait_seconds_max * 1000, 2),
            },
        )
        return facts


def create_gateway(
    settings: Settings | None = None,
    *,
    manifest: Manifest | None = None,
    force_status: str | None = None,
) -> FastAPI:
    """Build the gateway. `force_status` puts every route on one half (tests, parity)."""
    settings = settings or get_settings()
    manifest = manifest or load_manifest(settings.migration_manifest)
    if force_status is not None:
        manifest = manifest.with_status(force_status)
    gateway = Gateway(settings, manifest)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Mounted apps' lifespans never run: the root opens what both halves share.
        runtime = await Runtime.open(settings)
        gateway.runtime = runtime
        gateway.async_app.state.runtime = runtime
        gateway.bridge.attach(runtime)
        log.info(
            "gateway up: manifest %s (%s), database %s",
            manifest.version,
            ", ".join(f"{k} {v}" for k, v in manifest.counts().items()),
            runtime.db.backend,
        )
        try:
            yield
        finally:
            gateway.bridge.detach()
            gateway.async_app.state.runtime = None
            gateway.runtime = None
            await runtime.close()

    app = FastAPI(
        title="News digest gateway",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.gateway = gateway
    app.add_middleware(RouteDispatcher, gateway=gateway)

    @app.get("/_gateway/status", include_in_schema=False)
    async def gateway_status() -> dict[str, Any]:
        current = gateway.manifest
        return {
            "manifest": {"path": current.path, "version": current.version},
            "counts": current.counts(),
            "routes": [
                {
                    "id": entry.id,
                    "method": entry.method,
                    "path": entry.path,
                    "status": entry.status,
                    "legacy_file": entry.legacy_file,
                }
                for entry in current.entries.values()
            ],
            "runtime": gateway.runtime_facts(),
            "loop_running": asyncio.get_running_loop() is gateway.bridge.loop,
        }

    return app
