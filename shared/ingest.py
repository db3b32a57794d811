"""Feed ingest as a job: a run is asked for, run by a worker, and followed by its progress.

Every ingest is a run of the `feeds.ingest` task, whoever asks: `POST /admin/api/ingest`
(either half) and the schedule (`INGEST_INTERVAL_SECONDS`) both call `request_ingest`.
One run at a time across all workers (the task's procrastinate `lock`); asking while a
run is queued or running joins that run instead of starting another.

A run is told by its audit rows (no table of its own), all carrying `details.run`:
`ingest.run` (asked for: who and why, written in the transaction that enqueues the job),
`ingest.start` (a worker began: how many sources), a `source.fetch` per source stored
(the per-source result), and `ingest.finish` (the totals, or the reason it failed).
A run retried after its worker died skips the sources it already stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import httpx
import sqlalchemy as sa

from shared.database.engine import DOWN_RETRY_AFTER_SECONDS, Database
from shared.database.queries.admin import enabled_sources
from shared.database.queries.audit import record_audit
from shared.database.rows import iso, json_object
from shared.database.schema import audit_log
from shared.errors import ApiError, not_found
from shared.feeds import ingest_summary, pull_feed, store_pull
from shared.settings import Settings

if TYPE_CHECKING:
    from shared.jobs.queue import JobQueue

log = logging.getLogger(__name__)

INGEST_FEEDS = "feeds.ingest"
SCHEDULE_INGEST = "feeds.schedule_ingest"
SCHEDULER = "scheduler"  # the actor of scheduled runs
STALLED = "the worker running the ingest stopped"

RUN, START, FETCH, FINISH = "ingest.run", "ingest.start", "source.fetch", "ingest.finish"
_ACTIVE = ("todo", "doing")
_POLL_SECONDS = 0.2  # a run finished by another process is seen this late at most


def lock_name(queue: str) -> str:
    """The ingest task's procrastinate locks: one run per queue (a deployment's name)."""
    return f"{queue}:{INGEST_FEEDS}"


# --- asking for a run ---------------------------------------------------------------------


async def request_ingest(*, db: Database, jobs: JobQueue, actor: str, trigger: str) -> str:
    """The id of the run that will fetch every enabled source: the one queued or running,
    else a new one, enqueued in the transaction of its `ingest.run` row."""
    async with jobs.ingest_lock:  # this process; other processes wait on the database lock
        async with jobs.transaction(db) as jtx:
            if jobs.durable:  # until commit: whoever asks next sees this run's job
                await jtx.tx.execute(
                    sa.text("SELECT pg_advisory_xact_lock(hashtext(:name))").bindparams(
                        name=lock_name(jobs.settings.jobs_queue)
                    )
                )
            active = await active_run(jobs)
            if active is not None:
                return active
            run = uuid.uuid4().hex
            await record_audit(
                jtx.tx,
                actor=actor,
                action=RUN,
                target=f"ingest:{run}",
                details={"run": run, "trigger": trigger},
            )
            await jtx.defer(INGEST_FEEDS, run=run, actor=actor)
        return run


async def active_run(jobs: JobQueue) -> str | None:
    """The run whose job is queued or running, if any."""
    manager = jobs.app.job_manager
    for status in _ACTIVE:
        found = await manager.list_jobs_async(
            queue=jobs.settings.jobs_queue, task=INGEST_FEEDS, status=status
        )
        for job in found:
            return str(job.task_kwargs["run"])
    return None


# --- running it (the task) ----------------------------------------------------------------


async def run_ingest(
    *, db: Database, http: httpx.AsyncClient, settings: Settings, run: str, actor: str
) -> None:
    """Fetch every enabled source, `ingest_concurrency` at a time, storing each result as
    soon as it and the ones before it are in: by source id, as the legacy half did, so
    the same feeds give the same news ids."""
    try:
        sources = await enabled_sources(db)
        stored = await _stored_sources(db, run)
        todo = [source for source in sources if source["id"] not in stored]
        await _record(db, actor=actor, action=START, run=run, sources=len(sources))
        limit = asyncio.Semaphore(max(1, settings.ingest_concurrency))

        pulls = [
            asyncio.ensure_future(pull_feed(http, source, settings, limit=limit)) for source in todo
        ]
        try:
            for pending in pulls:
                await store_pull(db, pull=await pending, actor=actor, trigger="ingest", run=run)
        finally:
            for pending in pulls:
                pending.cancel()
        summary = ingest_summary((await run_progress(db, run=run) or {}).get("sources", []))
        await _record(
            db,
            actor=actor,
            action=FINISH,
            run=run,
            fetched=summary["fetched"],
            inserted=summary["inserted"],
            failed=summary["failed"],
            error=None,
        )
    except asyncio.CancelledError:
        raise  # a worker's shutdown: the job goes back to the queue and resumes
    except Exception as exc:
        log.exception("ingest run %s failed", run)
        await finish_failed(db, run=run, actor=actor, error=f"{type(exc).__name__}: {exc}")
        raise


async def finish_failed(db: Database, *, run: str, actor: str, error: str) -> None:
    """The run ends `failed` with `error` (its job failed, or its worker is gone)."""
    try:
        await _record(db, actor=actor, action=FINISH, run=run, error=error)
    except Exception:
        log.exception("could not record the end of ingest run %s", run)


class _Finished:
    """Waiters for runs, woken when a run ends in this process (the gateway's embedded
    worker, on the loop its requests wait on) instead of at their next poll; a run that
    a worker process elsewhere ends is still seen by polling."""

    def __init__(self) -> None:
        self._events: dict[str, tuple[asyncio.AbstractEventLoop, asyncio.Event, int]] = {}

    @contextlib.contextmanager
    def waiting(self, run: str) -> Iterator[asyncio.Event]:
        loop, event, count = self._events.get(run) or (
            asyncio.get_running_loop(),
            asyncio.Event(),
            0,
        )
        self._events[run] = (loop, event, count + 1)
        try:
            yield event
        finally:
            loop, event, count = self._events[run]
            if count > 1:
                self._events[run] = (loop, event, count - 1)
            else:
                del self._events[run]

    def ended(self, run: str) -> None:
        found = self._events.get(run)
        if found is None:
            return
        loop, event, _ = found
        if _running_loop() is loop:
            event.set()
        else:
            loop.call_soon_threadsafe(event.set)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


_finished = _Finished()


async def _record(db: Database, *, actor: str, action: str, run: str, **details: Any) -> None:
    async with db.transaction() as tx:
        await record_audit(
            tx, actor=actor, action=action, target=f"ingest:{run}", details={"run": run, **details}
        )
    if action == FINISH:  # committed: its waiters read it now
        _finished.ended(run)


async def _stored_sources(db: Database, run: str) -> set[int]:
    rows = await _run_rows(db, run)
    return {int(row["target"].split(":", 1)[1]) for row in rows if row["action"] == FETCH}


# --- following it -------------------------------------------------------------------------


async def _run_rows(db: Database, run: str) -> list[dict[str, Any]]:
    return await db.fetch_all(
        sa.select(audit_log)
        .where(
            audit_log.c.action.in_((RUN, START, FETCH, FINISH)),
            audit_log.c.details["run"].as_string() == run,
        )
        .order_by(audit_log.c.id)
    )


async def latest_run(db: Database) -> str | None:
    row = await db.fetch_one(
        sa.select(audit_log.c.details)
        .where(audit_log.c.action == RUN)
        .order_by(audit_log.c.id.desc())
        .limit(1)
    )
    return None if row is None else str(json_object(row["details"]).get("run"))


async def run_progress(db: Database, *, run: str | None = None) -> dict[str, Any] | None:
    """Where a run is (the latest when `run` is None): `state` queued, running, done or
    failed; sources done of `total`, and the per-source results stored so far."""
    run = run or await latest_run(db)
    if run is None:
        return None
    rows = await _run_rows(db, run)
    asked = next((row for row in rows if row["action"] == RUN), None)
    if asked is None:
        return None
    starts = [row for row in rows if row["action"] == START]
    finish = next((row for row in rows if row["action"] == FINISH), None)
    results = []
    for row in rows:
        if row["action"] != FETCH:
            continue
        details = json_object(row["details"])
        results.append(
            {
                "source_id": int(row["target"].split(":", 1)[1]),
                "name": details.get("name"),
                "fetched": details.get("fetched", 0),
                "inserted": details.get("inserted", 0),
                "error": details.get("error"),
            }
        )
    finished = json_object(finish["details"]) if finish is not None else {}
    if finish is None:
        state = "running" if starts else "queued"
    else:
        state = "failed" if finished.get("error") else "done"
    return {
        "run": run,
        "trigger": json_object(asked["details"]).get("trigger"),
        "actor": asked["actor"],
        "state": state,
        "requested_at": iso(asked["created_at"]),
        "started_at": iso(starts[0]["created_at"]) if starts else None,
        "finished_at": iso(finish["created_at"]) if finish is not None else None,
        "total": json_object(starts[-1]["details"]).get("sources") if starts else None,
        "done": len(results),
        "error": finished.get("error"),
        **ingest_summary(results),
    }


async def wait_for_run(db: Database, *, run: str, seconds: float) -> dict[str, Any]:
    """The run's progress once it is done or failed, or as it is after `seconds`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    with _finished.waiting(run) as ended:
        while True:
            progress = await run_progress(db, run=run)
            assert progress is not None  # its `ingest.run` row committed before the job
            if progress["state"] in ("done", "failed") or loop.time() >= deadline:
                return progress
            pause = min(_POLL_SECONDS, max(0.0, deadline - loop.time()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(ended.wait(), pause)
            ended.clear()  # a wake-up is read once (the waiters woken with it all run)


# --- what the admin API answers -----------------------------------------------------------

PROGRESS_PATH = "/admin/api/ingest"


def ingest_answer(progress: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """`POST /admin/api/ingest` after its wait: 200 and the per-source results of a run
    that is done, 202 and the progress of one still queued or running (`GET` of
    PROGRESS_PATH follows it); a run that failed is 503."""
    if progress["state"] == "done":
        return 200, {key: progress[key] for key in ("sources", "fetched", "inserted", "failed")}
    if progress["state"] == "failed":
        raise ApiError(
            "unavailable",
            f"the ingest run failed; GET {PROGRESS_PATH} says why",
            retry_after=DOWN_RETRY_AFTER_SECONDS,
        )
    return 202, progress


def no_run() -> ApiError:
    return not_found("ingest run")
