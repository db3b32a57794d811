"""The ASGI root: FastAPI, with the Flask half mounted through a2wsgi."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import sys
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from async_api.app import NO_OPENTELEMETRY, async_routes, warm_up
from async_api.app import create_app as create_async_app
from gateway import overrides, store
from gateway.canary import CanaryController
from gateway.control import ControlLock
from gateway.dispatch import ASYNC, RouteDispatcher, _Outcome
from gateway.looplag import LoopLagMonitor
from gateway.manifest import Manifest, RouteEntry, RouteTable, load_manifest
from gateway.metrics import PROMETHEUS_CONTENT_TYPE, GatewayMetrics
from gateway.recording import Recorder
from gateway.rollback import ErrorWindow, is_own_failure
from gateway.shadow import ShadowRunner
from gateway.watch import GatewayWatcher
from shared.database.rows import utcnow
from shared.errors import error_body
from shared.jobs.stats import job_figures, prometheus_text
from shared.runtime import Runtime, attached_bridge
from shared.settings import Settings, get_settings
from shared.web.security import page_headers

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
        # `legacy_half: retired`: Flask is never imported, no a2wsgi pool, every route async.
        self.legacy_retired = manifest.legacy_retired and force_status in (None, ASYNC)
        self.bridge = attached_bridge(settings)
        self.legacy_app: ASGIApp | None = None
        if self.legacy_retired:
            self.flask_app = None
            # Reloads are checked against the routes Flask had when it was retired.
            self.flask_routes = {
                entry.id: (entry.method, entry.path, entry.legacy_file)
                for entry in manifest.entries.values()
                if entry.legacy_file
            }
        else:
            from a2wsgi import WSGIMiddleware

            from gateway.lint import flask_routes_of
            from legacy_flask.app import create_app as create_legacy_app

            self.flask_app = create_legacy_app(settings=settings, bridge=self.bridge)
            # Each legacy request holds one of these threads for its whole life (including
            # its waits on the loop bridge), so this is the legacy half's concurrency: sized
            # explicitly rather than left to a2wsgi's default of 10.
            # a2wsgi types environ and scope as its own TypedDicts, which neither Flask's
            # `dict[str, Any]` environ nor Starlette's `MutableMapping` scope can match.
            self.legacy_app = WSGIMiddleware(  # type: ignore[assignment]
                self.flask_app,  # type: ignore[arg-type]
                workers=settings.legacy_threads,
            )
            self.flask_routes = flask_routes_of(self.flask_app)
        self.fastapi_app = create_async_app(settings=settings)
        self.async_app: ASGIApp = wrap_async(self.fastapi_app) if wrap_async else self.fastapi_app
        self.async_routes = async_routes()
        self.metrics = GatewayMetrics()
        self.shadow = ShadowRunner(self, max_concurrency=settings.shadow_max_concurrency)
        self.recorder = Recorder(settings)
        self.errors = ErrorWindow()
        self.loop_monitor = LoopLagMonitor(
            threshold=settings.loop_block_threshold_ms / 1000,
            interval=0.02,
            on_lag=self.metrics.loop_lag.observe,
            on_block=lambda block: self.metrics.loop_blocks.labels(block.route_id or "").inc(),
        )
        self.runtime: Runtime | None = None
        self.manifest_error: str | None = None
        self.rollbacks: dict[str, dict[str, Any]] = {}
        self.unsaved_rollbacks: dict[str, dict[str, Any]] = {}  # not in the database yet
        self.overrides: dict[str, dict[str, overrides.Override]] = {}  # route -> kind -> one
        self.live_overrides: dict[str, overrides.Override] = {}  # the ones in force here
        self.canary = CanaryController(self)
        # When this copy of the file was written, and entries seen edited while running:
        # a flip is newer than the file entry or not (gateway/overrides.py).
        self.file_written_at = _written_at(manifest.path)
        self.entries_edited_at: dict[str, datetime] = {}
        self.file_manifest = manifest
        self.decided = manifest  # the file with the operator overrides in force
        self.manifest = manifest
        self.table = RouteTable(manifest)
        self._rebuild()

    # -- the effective manifest: the file, forced (tests, parity) or rolled back ----------
    def use_file_manifest(self, manifest: Manifest) -> None:
        if self.legacy_retired and not manifest.legacy_retired:
            # Flask was never loaded in this process: only a restart can bring it back.
            self.manifest_error = (
                f"{manifest.path}: legacy_half is no longer retired; restart the gateway to"
                " load Flask (keeping the retired manifest meanwhile)"
            )
            log.error(self.manifest_error)
            return
        now = utcnow()
        for route_id, entry in manifest.entries.items():
            before = self.file_manifest.entries.get(route_id)
            if before is None or before.fingerprint != entry.fingerprint:
                self.entries_edited_at[route_id] = now
        self.file_manifest = manifest
        self._rebuild()

    def use_overrides(self, rows: list[dict[str, Any]]) -> None:
        found = overrides.by_route(rows)
        if found != self.overrides:
            self.overrides = found
            self._rebuild()

    def use_canary_runs(self) -> None:
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
        if self.legacy_retired:
            # No half to go back to: pins, flips and rollbacks to legacy cannot apply (the
            # gateway refuses to start while one is in force; see `legacy_still_needed`).
            self.decided = manifest
        elif self.force_status is not None:
            manifest = manifest.with_status(self.force_status)
        else:  # pin > a flip newer than the file entry > the file; then the canary's verdict
            live: dict[str, overrides.Override] = {}
            decided = {}
            for route_id, entry in manifest.entries.items():
                decided[route_id], override = overrides.decided_entry(
                    entry,
                    self.overrides.get(route_id, {}),
                    edited_at=self.entries_edited_at.get(route_id),
                    file_written_at=self.file_written_at,
                )
                if override is not None:
                    live[route_id] = override
            self.live_overrides = live
            self.decided = manifest = replace(manifest, entries=decided)
            manifest = replace(
                manifest,
                entries={k: self.canary.apply(e) for k, e in manifest.entries.items()},
            )
        if self.rollbacks and not self.legacy_retired:
            entries = {
                route_id: replace(entry, status="legacy")
                if route_id in self.rollbacks and entry.status in (ASYNC, "canary")
                else entry
                for route_id, entry in manifest.entries.items()
            }
            manifest = replace(manifest, entries=entries)
        self.manifest = manifest
        self.table = RouteTable(manifest, previous=self.table)
        self.metrics.set_manifest(manifest.version)

    # -- per request ---------------------------------------------------------------------
    def observe(
        self, entry: RouteEntry, outcome: _Outcome, seconds: float, client: str = ""
    ) -> None:
        self.metrics.observe_request(entry.id, outcome.side, outcome.status, seconds)
        if self.runtime is not None:
            self.runtime.stats.record(entry.id, outcome.side, outcome.status, seconds)
        if outcome.async_failed:  # a fallback: the async half failed, Flask answered
            verdict = self.errors.observe(entry, side=ASYNC, failed=True, client=client)
        else:
            failed = is_own_failure(outcome.status)
            verdict = self.errors.observe(entry, side=outcome.side, failed=failed, client=client)
        if verdict is not None and entry.status in (ASYNC, "canary") and not self.legacy_retired:
            self.roll_back(entry, verdict.reason)
        self.canary.observe(
            entry.id,
            ASYNC if outcome.async_failed else outcome.side,
            failed=outcome.async_failed or is_own_failure(outcome.status),
            seconds=seconds,
        )

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
            self.runtime.spawn(self.save_rollbacks())

    async def save_rollbacks(self) -> None:
        """Share the rollbacks this worker decided; what cannot be saved now (the database is
        down at that moment) stays in force here and is tried again on every watcher tick."""
        assert self.runtime is not None
        for route_id, rollback in list(self.unsaved_rollbacks.items()):
            try:
                await store.record_rollback(
                    self.runtime.db,
                    route_id=route_id,
                    reason=rollback["reason"],
                    entry_version=rollback["entry_version"],
                )
            except Exception as exc:
                log.warning("could not share the rollback of %s yet (%s); retrying", route_id, exc)
                return
            if self.unsaved_rollbacks.get(route_id) is rollback:
                del self.unsaved_rollbacks[route_id]

    def legacy_still_needed(self) -> list[str]:
        """With Flask retired: the routes a pin, flip or automatic rollback in the database
        still sends to legacy (the gateway must not start so)."""
        needed = [f"{route_id}: rolled back to legacy" for route_id in self.rollbacks]
        for route_id, kinds in self.overrides.items():
            needed.extend(
                f"{route_id}: {kind} to {item.status}"
                for kind, item in sorted(kinds.items())
                if item.status != ASYNC
            )
        return needed

    def runtime_facts(self) -> dict[str, Any]:
        """Where the work happens: proof that both halves share one loop and one pool."""
        runtime = self.runtime
        facts: dict[str, Any] = {
            "pid": os.getpid(),
            "threads": threading.active_count(),
            "thread_names": sorted(thread.name for thread in threading.enumerate()),
            "legacy_half": "retired" if self.legacy_retired else "loaded",
            "flask_imported": "flask" in sys.modules,
        }
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
            loop={
                "max_lag_ms": round(self.loop_monitor.max_lag * 1000, 1),
                "threshold_ms": round(self.loop_monitor.threshold * 1000),
                "blocks": [
                    {
                        "ms": round(block.seconds * 1000),
                        "where": block.where,
                        "route_id": block.route_id,
                        "at": block.at,
                    }
                    for block in list(self.loop_monitor.blocks)[-10:]
                    if block.blocking
                ],
            },
        )
        return facts


def _written_at(path: str) -> datetime | None:
    try:
        return datetime.fromtimestamp(os.stat(path).st_mtime, UTC).replace(tzinfo=None)
    except OSError:
        return None


async def _job_figures(runtime: Runtime | None) -> list[dict[str, Any]] | None:
    """Per task figures of the job queue; None while it does not answer."""
    if runtime is None:
        return None
    try:
        async with asyncio.timeout(3.0):  # a scrape must not wait on a database that is down
            return await job_figures(runtime.jobs)
    except Exception:
        log.warning("the job queue did not answer for its figures", exc_info=True)
        return None


def _pool_checked_out(runtime: Runtime) -> int:
    """Connections in use (the idle ones the direct reads keep are not)."""
    pool = runtime.db.pool
    checked_out = getattr(pool, "checkedout", None)
    return int(checked_out()) - runtime.db.idle_direct if callable(checked_out) else 0


class GatewayApp(FastAPI):
    """The root app. HTTP enters through `front` (the dispatcher, with the control
    surfaces' lock and the response guard), which hands only the gateway's own paths
    (`/_gateway/...`, `/metrics`) to this app's FastAPI stack: a request for a half passes
    through FastAPI's middleware once, the half's, not twice."""

    front: ASGIApp

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self.front(scope, receive, send)
        else:  # lifespan
            await super().__call__(scope, receive, send)

    async def serve_own(self, scope: Scope, receive: Receive, send: Send) -> None:
        await super().__call__(scope, receive, send)


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
            await watcher.sync_decisions()
        except Exception:
            log.exception("could not read rollbacks and operator decisions at start")
        if gateway.legacy_retired and (needed := gateway.legacy_still_needed()):
            await runtime.close()
            raise RuntimeError(
                "refusing to start with legacy_half retired while routes still need Flask: "
                + "; ".join(needed)
            )
        watcher.start()
        gateway.recorder.start(runtime.db, interval=settings.manifest_poll_seconds)
        await warm_up(gateway.fastapi_app)
        # What start-up built (modules, both halves' routes, the OpenAPI schema: some 250,000
        # objects) lives as long as the process. Frozen, it is left out of the collector's
        # full passes, which otherwise hold the loop for about 150 ms each.
        gc.collect()
        gc.freeze()
        gateway.loop_monitor.start()
        log.info(
            "gateway up: manifest %s (%s), database %s",
            gateway.manifest.version,
            ", ".join(f"{k} {v}" for k, v in gateway.manifest.counts().items()),
            runtime.db.backend,
        )
        try:
            yield
        finally:
            await gateway.loop_monitor.stop()
            await gateway.shadow.drain()
            await gateway.recorder.stop(runtime.db)
            try:
                await watcher.stop()
            except Exception:
                log.exception("final flush of gateway counters failed")
            gateway.bridge.detach()
            gateway.fastapi_app.state.runtime = None
            gateway.runtime = None
            await runtime.close()
            gateway.metrics.retire()

    app = GatewayApp(
        title="News digest gateway",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        telemetry=NO_OPENTELEMETRY,
    )
    app.state.gateway = gateway
    # Every HTTP request: the control surfaces' lock, the route's half, a status line.
    app.front = RouteDispatcher(app.serve_own, gateway=gateway, lock=ControlLock(settings))

    @app.get("/_gateway/status", include_in_schema=False)
    async def status() -> dict[str, Any]:
        return await gateway_status(gateway)

    @app.get("/_gateway/", include_in_schema=False, response_class=HTMLResponse)
    async def dashboard() -> HTMLResponse:
        # Rendering 92 routes (and compiling the template the first time) is CPU work.
        html = await asyncio.to_thread(dashboard_html, await gateway_status(gateway))
        return HTMLResponse(html, headers=page_headers(html))

    @app.api_route(
        "/_gateway/{rest:path}",
        methods=["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"],
        include_in_schema=False,
    )
    async def unknown_control_path(rest: str) -> Response:
        """Unknown `/_gateway/...` paths answer in the catalogue's shape, not FastAPI's."""
        return JSONResponse(error_body("not_found", "no such endpoint"), status_code=404)

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        # On a served host this reads every worker's file: off the loop.
        gateway.metrics.refresh()
        body = await asyncio.to_thread(gateway.metrics.render)
        # The job queue's figures: read from the queue, so they cover every worker.
        body += prometheus_text(await _job_figures(gateway.runtime))
        return Response(body, media_type=PROMETHEUS_CONTENT_TYPE)

    return app
