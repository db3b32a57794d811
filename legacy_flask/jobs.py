"""Background digest jobs for the legacy half.

A view must answer 202 before the AI does, so the job runs on one of a few threads of
its own; like a view, that thread reaches the shared loop only through the loop bridge
(captured by the view: a job thread has no Flask app context).
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor

from shared.database.bridge import LoopBridge
from shared.digest import DigestParams
from shared.digest_jobs import run_digest_job
from shared.runtime import Runtime

log = logging.getLogger(__name__)

# Each thread only waits on the loop while the job runs there; a few are plenty, and a
# job that finds them all busy simply stays `queued` a little longer.
_EXECUTOR = ThreadPoolExecutor(max_workers=4, thread_name_prefix="digest-job")
_in_flight: set[Future[None]] = set()
_lock = threading.Lock()


def submit_digest_job(
    bridge: LoopBridge[Runtime], *, job_id: str, params: DigestParams, user_id: int | None
) -> None:
    """Build the queued job `job_id` in the background."""
    with _lock:
        future = _EXECUTOR.submit(_build, bridge, job_id, params, user_id)
        _in_flight.add(future)
    future.add_done_callback(_forget)


def jobs_in_flight() -> int:
    """Jobs submitted and not yet finished (for callers that must wait for quiet, e.g. parity
    comparing the rows a write leaves behind)."""
    with _lock:
        return len(_in_flight)


def _forget(future: Future[None]) -> None:
    with _lock:
        _in_flight.discard(future)


def _build(
    bridge: LoopBridge[Runtime], job_id: str, params: DigestParams, user_id: int | None
) -> None:
    try:
        rt = bridge.resource
        bridge.run(
            run_digest_job(
                db=rt.db, writer=rt.writer, job_id=job_id, params=params, user_id=user_id
            ),
            # The AI call has its own timeout (which fails the job); the bridge outwaits it.
            timeout=rt.settings.ai_timeout_seconds + rt.settings.bridge_timeout_seconds,
        )
    except Exception:  # nobody waits on this thread: log, never lose the error silently
        log.exception("digest job %s could not be run", job_id)
