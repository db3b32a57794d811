"""The ASGI root: FastAPI, with the Flask half mounted through a2wsgi."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

from a2wsgi import WSGIMiddleware
from fastapi import FastAPI
from fastapi.responses import HTMLResponse, Response
from starlette.types import ASGIApp

from async_api.app import async_routes
from async_api.app import create_app as create_async_app
from gateway import store
from gateway.dispatch import ASYNC, RouteDispatcher, _Outcome
from gateway.lint import flask_routes_of
from gateway.manifest import Manifest, RouteEntry, RouteTable, load_manifest
from gateway.metrics import PROMETHEUS_CONTENT_TYPE, GatewayMetrics
from gateway.rollback import ErrorWindow
from gateway.shadow import ShadowRunner
from gateway.watch import GatewayWatcher
from legacy_flask.app import create_app as create_legacy_app
from shared.database.rows import utcnow
from shared.runtime import Runtime, attached_bridge
from shared.settings import Settings, get_settings

log = logging.getLogger("gateway")


class Gateway:
    """What the dispatcher needs per request, and the state behind the dashboard."""

    def __init__(
        self,
        settings: Settings,
        manifest: Manifest,
        *,
        force_status: str | None = None,
        wrap_async: Callable[[ASGIApp], ASGIApp] | None = None,
    ) -> None:
        self.settings = settings
        self.manifest_path = manifest.path
        self.force_status = force_status
        self.bridge = attached_bridge(settings)
        self.flask_app = create_legacy_app(settings=settings, bridge=self.bridge)
        # Each legacy request holds one of these threads for its whole life (including its
        # waits on the loop bridge), so this is the legacy half's concurrency: sized
        # explicitly rather than left to a2wsgi's default of 10.
        self.legacy_app = WSGIMiddleware(self.flask_app, workers=settings.legacy_threads)
        self.fastapi_app = create_async_app(settings=settings)
        self.async_app: ASGIApp = wrap_async(self.fastapi_app) if wrap_async else self.fastapi_app
        self.flask_routes = flask_routes_of(self.flask_app)
        self.async_routes = async_routes()
        self.metrics = GatewayMetrics()
        self.shadow = ShadowRunner(self, max_concurrency=settings.shadow_max_concurrency)
        self.errors = ErrorWindow()
        self.runtime: Runtime | None = None
        self.manifest_error: str | None = None
        self.rollbacks: dict[str, dict[str, Any]] = {}
        self.unsaved_rollbacks: dict[str, dict[str, Any]] = {}  # not in the database yet
        self.file_manifest = manifest
        self.manifest = manifest
        self.table = RouteTable(manifest)
        self._rebuild()

    # -- the effective manifest: the file, forced (tests, parity) or rolled back ----------
    def use_file_manifest(self, manifest: Manifest) -> None:
        self.file_manifest = manifest
        self._rebuild()

    def use_rollbacks(self, rollbacks: dict[str, dict[str, Any]]) -> None:
        rollbacks = {**self.unsaved_rollbacks, **rollbacks}
        if rollbacks.keys() != self.rollbacks.keys():
            self.rollbacks = rollbacks
            self._rebuild()
        else:
            self.rollbacks = rollbacks

    def _rebuild(self) -> None:
        manifest = self.file_manifest
        if self.force_status is not None:
            manifest = manifest.with_status(self.force_status)
        if self.rollbacks:
            entries = {
                route_id: replace(entry, status="legacy")
                if route_id in self.rollbacks and entry.status in (ASYNC, "canary")
                else entry
                for route_id, entry in manifest.entries.items()
            }
            manifest = replace(manifest, entries=entries)
        self.manifest = manifest
        self.table = RouteTable(manifest)
        self.metrics.set_manifest(manifest.version)

    # -- per request ---------------------------------------------------------------------
    def observe(self, entry: RouteEntry, outcome: _Outcome, seconds: float) -> None:
        self.metrics.observe_request(entry.id, outcome.side, outcome.status, seconds)
        if self.runtime is not None:
            self.runtime.stats.record(entry.id, outcome.side, outcome.status, seconds)
        if entry.status in (ASYNC, "canary") and (outcome.side == ASYNC or outcome.async_failed):
            failed = outcome.async_failed or outcome.status >= 500
            verdict = self.errors.observe(entry, error=failed)
            if verdict is not None:
                self.roll_back(entry, verdict.reason)

    def roll_back(self, entry: RouteEntry, reason: str) -> None:
        log.warning("rolling %s back to legacy: %s", entry.id, reason)
        self.metrics.rollbacks.labels(entry.id).inc()
        file_entry = self.file_manifest.entries.get(entry.id, entry)
        self.unsaved_rollbacks[entry.id] = {
            "route_id": entry.id,
            "reason": reason,
            "entry_version": file_entry.fingerprint,
            "created_at": utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        self.use_rollbacks(self.rollbacks)
        if self.runtime is not None:  # shared with every worker through the database
            self.runtime.spawn(self._save_rollback(entry.id, reason, file_entry.fingerprint))

    async def _save_rollback(self, route_id: str, reason: str, entry_version: str) -> None:
        assert self.runtime is not None
        try:
            await store.record_rollback(
                self.runtime.db, route_id=route_id, reason=reason, entry_version=entry_version
            )
        except Exception:
            log.exception("could not share the rollback of %s; it holds in this worker", route_id)
            return
        self.unsaved_rollbacks.pop(route_id, None)

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
            shadow={"active": self.shadow.active, "cap": self.shadow.max_concurrency},
        )
        return facts


def _pool_checked_out(runtime: Runtime) -> int:
    pool = runtime.db.pool
    checked_out = getattr(pool, "checkedout", None)
    return int(checked_out()) if callable(checked_out) else 0


def create_gateway(
    settings: Settings | None = None,
    *,
    manifest: Manifest | None = None,
    force_status: str | None = None,
    wrap_async: Callable[[ASGIApp], ASGIApp] | None = None,
) -> FastAPI:
    """Build the gateway. `force_status` puts every route on one half (tests, parity);
    `wrap_async` wraps the async half (tests of misbehaving shadows and fallbacks)."""
    from gateway.dashboard import dashboard_html, gateway_status

    settings = settings or get_settings()
    manifest = manifest or load_manifest(settings.migration_manifest)
    gateway = Gateway(settings, manifest, force_status=force_status, wrap_async=wrap_async)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Mounted apps' lifespans never run: the root opens what both halves share.
        runtime = await Runtime.open(settings)
        gateway.runtime = runtime
        gateway.fastapi_app.state.runtime = runtime
        gateway.bridge.attach(runtime)
        gateway.bridge.stats.observers.append(gateway.metrics.bridge_wait.observe)
        gateway.metrics.watch_pool(lambda: _pool_checked_out(runtime))
        watcher = GatewayWatcher(gateway, interval=settings.manifest_poll_seconds)
        try:
            await watcher.sync_rollbacks()
        except Exception:
            log.exception("could not read automatic rollbacks at start")
        watcher.start()
        log.info(
            "gateway up: manifest %s (%s), database %s",
            gateway.manifest.version,
            ", ".join(f"{k} {v}" for k, v in gateway.manifest.counts().items()),
            runtime.db.backend,
        )
        try:
            yield
        finally:
            await gateway.shadow.drain()
            try:
                await watcher.stop()
            except Exception:
                log.exception("final flush of gateway counters failed")
            gateway.bridge.detach()
            gateway.fastapi_app.state.runtime = None
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
    async def status() -> dict[str, Any]:
        return await gateway_status(gateway)

    @app.get("/_gateway/", include_in_schema=False, response_class=HTMLResponse)
    async def dashboard() -> HTMLResponse:
        return HTMLResponse(dashboard_html(await gateway_status(gateway)))

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(gateway.metrics.render(), media_type=PROMETHEUS_CONTENT_TYPE)

    return app
