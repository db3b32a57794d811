"""Keeping every worker current: the manifest reloaded on change or SIGHUP, automatic
rollbacks shared through the database, and shadow counts and results written there."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from typing import TYPE_CHECKING

from gateway import store
from gateway.lint import manifest_problems
from gateway.manifest import ManifestError, parse_manifest

if TYPE_CHECKING:
    from gateway.app import Gateway

log = logging.getLogger("gateway.watch")


class GatewayWatcher:
    def __init__(self, gateway: Gateway, *, interval: float = 1.0) -> None:
        self.gateway = gateway
        self.interval = interval
        self._stamp = self._file_stamp()
        self._hup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def _file_stamp(self) -> tuple[int, int, int] | None:
        try:
            info = os.stat(self.gateway.manifest_path)
        except OSError:
            return None
        return (info.st_mtime_ns, info.st_size, info.st_ino)

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            loop.add_signal_handler(signal.SIGHUP, self._hup.set)
        except (RuntimeError, ValueError, NotImplementedError):
            pass  # not the main thread (tests) or no signals here: file changes still count
        self._task = loop.create_task(self._run(), name="gateway-watcher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        await self.flush()

    async def _run(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._hup.wait(), self.interval)
            except TimeoutError:
                pass
            try:
                await self.tick()
            except Exception:  # a bad moment (DB down) must not end the watcher
                log.exception("gateway watcher tick failed")

    async def tick(self) -> None:
        stamp = self._file_stamp()
        if self._hup.is_set() or stamp != self._stamp:
            self._hup.clear()
            self._stamp = stamp
            await self.reload()
        if self.gateway.runtime is not None and self.gateway.unsaved_rollbacks:
            await self.gateway.save_rollbacks()
        await self.sync_rollbacks()
        await self.sync_decisions()
        await self.flush()

    async def reload(self) -> bool:
        gateway = self.gateway
        path = gateway.manifest_path
        try:
            text = await asyncio.to_thread(_read, path)
            # Parsing and checking a 92-route file is YAML and werkzeug work: off the loop.
            manifest = await asyncio.to_thread(parse_manifest, text, path=path)
            problems = await asyncio.to_thread(
                manifest_problems, manifest, gateway.flask_routes, gateway.async_routes
            )
            if problems:
                raise ManifestError(path, problems)
        except (OSError, ManifestError) as exc:
            gateway.manifest_error = str(exc)
            log.error(
                "manifest rejected, keeping version %s: %s", gateway.file_manifest.version, exc
            )
            return False
        if manifest.version != gateway.file_manifest.version:
            log.info(
                "manifest %s is live (was %s)", manifest.version, gateway.file_manifest.version
            )
        gateway.manifest_error = None
        gateway.use_file_manifest(manifest)
        return True

    async def sync_rollbacks(self) -> None:
        gateway = self.gateway
        if gateway.runtime is None:
            return
        active = await store.active_rollbacks(gateway.runtime.db)
        acted_on = [
            route_id
            for route_id, rollback in active.items()
            if (entry := gateway.file_manifest.entries.get(route_id)) is None
            or entry.fingerprint != rollback["entry_version"]
        ]
        if acted_on:  # an engineer changed these entries since: the rollback is over
            await store.clear_rollbacks(gateway.runtime.db, route_ids=acted_on)
            for route_id in acted_on:
                active.pop(route_id)
        gateway.use_rollbacks(active)

    async def sync_decisions(self) -> None:
        """Operator overrides (flip, pin) from the database, then the progressive canaries:
        their figures saved, their due steps judged (by one instance), their state applied."""
        gateway = self.gateway
        if gateway.runtime is None:
            return
        gateway.use_overrides(await store.active_overrides(gateway.runtime.db))
        await gateway.canary.tick(gateway.runtime.db, gateway.decided)

    async def flush(self) -> None:
        """Shadow counts and results to the database (every instance reads them there);
        request figures need no writes: every worker's are on the host's /metrics."""
        gateway = self.gateway
        if gateway.runtime is None:
            return
        gateway.metrics.refresh()
        db = gateway.runtime.db
        pending = gateway.metrics.take_pending()
        results = gateway.shadow.take_results()
        try:
            await store.add_to_counters(db, pending)
            await store.record_shadow_results(db, results)
        except Exception:
            gateway.metrics.pending.update(pending)  # try again next time
            gateway.shadow.results[:0] = results
            raise


def _read(path: str) -> str:
    with open(path, encoding="utf-8") as file:
        return file.read()
