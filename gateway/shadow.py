"""Shadow traffic: Flask answers; the same request is replayed to FastAPI off the critical
path and the two answers are compared (Scientist's experiments, Envoy's mirroring).

The primary response is never held for the shadow: the comparison is scheduled after the
client has its answer, runs under its own timeout and a cap on concurrent shadow calls,
and any error in it is recorded, never raised.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.types import ASGIApp, Message, Receive, Scope

from gateway.compare import Answer, Difference, compare_answers, json_differences, split_noise
from gateway.manifest import RouteEntry
from gateway.redact import Redactor
from shared.database.rows import utcnow
from shared.rate_limit import SHADOW_REPLAY_KEY

if TYPE_CHECKING:
    from gateway.app import Gateway

log = logging.getLogger("gateway.shadow")

SAFE_METHODS = frozenset({"GET", "HEAD"})
MAX_CAPTURE_BYTES = 2 * 1024 * 1024  # larger answers are not compared
MAX_STORED_BODY = 4000  # characters of the request body kept with a mismatch


@dataclass
class Captured:
    """A response as it went by: status, content type, body (up to a cap)."""

    status: int = 0
    content_type: str = ""
    chunks: list[bytes] = field(default_factory=list)
    size: int = 0

    def take(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            for name, value in message.get("headers", ()):
                if name == b"content-type":
                    self.content_type = value.decode("latin-1")
        elif message["type"] == "http.response.body":
            chunk = message.get("body", b"")
            self.size += len(chunk)
            if self.size <= MAX_CAPTURE_BYTES:
                self.chunks.append(chunk)

    @property
    def complete(self) -> bool:
        return self.size <= MAX_CAPTURE_BYTES

    def answer(self) -> Answer:
        return Answer.from_bytes(self.status, self.content_type, b"".join(self.chunks))


def replay_receive(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # a finished request: nothing more ever arrives
        raise AssertionError("unreachable")

    return receive


async def call_captured(app: ASGIApp, scope: Scope, body: bytes) -> Captured:
    captured = Captured()

    async def send(message: Message) -> None:
        captured.take(message)

    # A replay's failed sign-in is not counted a second time (shared.rate_limit).
    await app({**scope, SHADOW_REPLAY_KEY: True}, replay_receive(body), send)
    return captured


@dataclass
class ShadowRequest:
    entry: RouteEntry
    scope: Scope
    body: bytes


class ShadowRunner:
    """Schedules and runs shadow comparisons for one gateway process."""

    def __init__(self, gateway: Gateway, *, max_concurrency: int) -> None:
        self.gateway = gateway
        self.max_concurrency = max_concurrency
        self.redactor = Redactor(gateway.settings.redact_fields.split(","))
        self.active = 0
        self.results: list[dict[str, Any]] = []  # waiting to be written to the database
        self.noisy_paths: dict[str, set[str]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    @staticmethod
    def wants(entry: RouteEntry, method: str) -> bool:
        """Sampled, and a safe method unless the entry allows writes."""
        if method not in SAFE_METHODS and not entry.shadow.allow_writes:
            return False
        rate = entry.shadow.sample_rate
        return rate >= 1 or random.random() < rate

    def submit(self, request: ShadowRequest, primary: Captured) -> None:
        metrics = self.gateway.metrics
        if self.active >= self.max_concurrency or not primary.complete:
            metrics.shadow_skipped.labels(request.entry.id).inc()
            metrics.count(request.entry.id, "shadow_skipped")
            return
        self.active += 1
        task = asyncio.get_running_loop().create_task(self._run(request, primary))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, request: ShadowRequest, primary: Captured) -> None:
        entry = request.entry
        try:
            async with asyncio.timeout(entry.shadow.timeout_ms / 1000):
                candidate = await self._candidate(request)
                secondary = None
                method = request.scope["method"]
                legacy = self.gateway.legacy_app  # present: only a loaded legacy half shadows
                if (
                    legacy is not None
                    and method in SAFE_METHODS
                    and random.random() < entry.shadow.noise_sample_rate
                ):
                    secondary = await call_captured(legacy, request.scope, request.body)
            self._compare(request, primary, candidate, secondary)
        except TimeoutError:
            self._record(request, "error", primary, None, [Difference("shadow", None, "timeout")])
        except Exception as exc:  # the shadow side failing is a finding, not a crash
            log.warning("shadow call for %s failed: %r", entry.id, exc)
            self._record(
                request, "error", primary, None, [Difference("shadow", None, type(exc).__name__)]
            )
        finally:
            self.active -= 1

    async def _candidate(self, request: ShadowRequest) -> Captured:
        if request.scope["method"] in SAFE_METHODS:
            return await call_captured(self.gateway.async_app, request.scope, request.body)
        runtime = self.gateway.runtime
        assert runtime is not None
        async with runtime.db.rolled_back():  # a shadow write never lands
            return await call_captured(self.gateway.async_app, request.scope, request.body)

    def _compare(
        self,
        request: ShadowRequest,
        primary: Captured,
        candidate: Captured,
        secondary: Captured | None,
    ) -> None:
        entry = request.entry
        legacy_answer = primary.answer()
        if secondary is not None:
            noise = json_differences(legacy_answer.body, secondary.answer().body)
            learned = self.noisy_paths.setdefault(entry.id, set())
            new = [d for d in noise if d.path not in learned]
            learned.update(d.path for d in noise)
            if new:
                self._record(request, "noise", primary, secondary, new)
        differences = compare_answers(entry, legacy_answer, candidate.answer())
        real, noise = split_noise(differences, self.noisy_paths.get(entry.id, set()))
        metrics = self.gateway.metrics
        metrics.shadow_comparisons.labels(entry.id).inc()
        metrics.count(entry.id, "shadow_comparisons")
        self.gateway.canary.compared(entry.id, differs=bool(real))
        if real:
            self._record(request, "mismatch", primary, candidate, real)
        elif noise:
            metrics.count(entry.id, "shadow_noise")
            metrics.shadow_mismatches.labels(entry.id, "noise").inc()

    def _record(
        self,
        request: ShadowRequest,
        kind: str,
        primary: Captured,
        other: Captured | None,
        differences: list[Difference],
    ) -> None:
        entry = request.entry
        metrics = self.gateway.metrics
        if kind != "noise":
            metrics.shadow_mismatches.labels(entry.id, kind).inc()
            metrics.count(entry.id, "shadow_mismatches" if kind == "mismatch" else "shadow_errors")
        if kind == "error":
            self.gateway.canary.compared(entry.id, differs=True)
            metrics.shadow_comparisons.labels(entry.id).inc()
            metrics.count(entry.id, "shadow_comparisons")
        differing = [
            {"path": d.path, "legacy": _jsonable(d.legacy), "async": _jsonable(d.modern)}
            for d in differences[:50]
        ]
        if kind != "noise":  # kept as a replayable parity case (gateway/recording.py)
            self.gateway.recorder.mismatch(
                entry, request.scope, request.body, primary, other, differing
            )
        self.results.append(
            {
                "route_id": entry.id,
                "kind": kind,
                "method": request.scope["method"],
                "path": request.scope["path"],
                "query": self.redactor.query(
                    request.scope.get("query_string", b"").decode("latin-1")
                )[:2000],
                "request_body": self.redactor.body(request.body, limit=MAX_STORED_BODY),
                "legacy_status": primary.status,
                "async_status": other.status if other is not None and kind != "noise" else None,
                "differences": differing,
                "created_at": utcnow(),
            }
        )

    def take_results(self) -> list[dict[str, Any]]:
        results, self.results = self.results, []
        return results

    async def drain(self, seconds: float = 5) -> None:
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=seconds)


def _jsonable(value: Any) -> Any:
    from gateway.compare import MISSING

    if value is MISSING:
        return "(absent)"
    return value
