"""What the job queue holds, for `/metrics`, the dashboard and `python -m gateway jobs`.

The figures come from the queue itself (procrastinate's tables on PostgreSQL), so one
scrape covers every worker on every machine; on SQLite they are the gateway process's
in-memory queue. A job's error is not kept by procrastinate: it is the reason the task
recorded on the row the API reports on (the digest job, the broadcast message, the
ingest run), looked up per task.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from shared.broadcast import SEND_BROADCAST_MESSAGE
from shared.database.engine import Database
from shared.database.rows import iso, json_object
from shared.database.schema import audit_log, broadcast_recipients, digest_jobs
from shared.digest_jobs import BUILD_DIGEST
from shared.ingest import FINISH, INGEST_FEEDS

if TYPE_CHECKING:
    from shared.jobs.queue import JobQueue

# Per task: jobs waiting (todo), running (doing), failed (kept in the queue's table), and
# running on a worker whose heartbeat stopped (stalled: the sweep retries or fails them).
FIGURES = ("queued", "running", "failed", "stalled")


async def job_figures(jobs: JobQueue) -> list[dict[str, Any]]:
    """Every task of the app (and any other the queue holds), with FIGURES, by name."""
    manager = jobs.app.job_manager
    settings = jobs.settings
    listed = {row["name"]: row for row in await manager.list_tasks_async(queue=settings.jobs_queue)}
    stalled = Counter(
        job.task_name
        for job in await manager.get_stalled_jobs(
            queue=settings.jobs_queue, seconds_since_heartbeat=settings.jobs_stalled_seconds
        )
    )
    names = {name for name in jobs.app.tasks if not name.startswith("builtin:")} | set(listed)
    figures = []
    for name in sorted(names):
        row = listed.get(name, {})
        figures.append(
            {
                "task": name,
                "queued": int(row.get("todo", 0)),
                "running": int(row.get("doing", 0)),
                "failed": int(row.get("failed", 0)),
                "stalled": stalled[name],
            }
        )
    return figures


class _JobCollector(Collector):
    def __init__(self, figures: list[dict[str, Any]] | None) -> None:
        self.figures = figures

    def collect(self) -> Iterable[GaugeMetricFamily]:
        up = GaugeMetricFamily(
            "gateway_jobs_figures_up", "1 when the job queue answered this scrape, else 0"
        )
        up.add_metric([], 0 if self.figures is None else 1)
        yield up
        helps = {
            "queued": "Jobs waiting to run, by task (every worker's queue)",
            "running": "Jobs running now, by task",
            "failed": "Jobs that ended failed and are kept in the queue, by task",
            "stalled": "Jobs running on a worker whose heartbeat stopped, by task",
        }
        for figure in FIGURES:
            family = GaugeMetricFamily(f"gateway_jobs_{figure}", helps[figure], labels=["task"])
            for row in self.figures or ():
                family.add_metric([row["task"]], row[figure])
            yield family


def prometheus_text(figures: list[dict[str, Any]] | None) -> bytes:
    """The figures in Prometheus' text format (None: the queue did not answer)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_JobCollector(figures))
    return generate_latest(registry)


# --- recent jobs (PostgreSQL: procrastinate's tables) -------------------------------------

_RECENT = sa.text(
    "SELECT j.id, j.task_name, j.status::text AS status, j.attempts, j.args,"
    " (SELECT max(e.at) FROM procrastinate_events e WHERE e.job_id = j.id) AS updated_at"
    " FROM procrastinate_jobs j"
    " WHERE j.queue_name = :queue"
    " AND (CAST(:task AS text) IS NULL OR j.task_name = :task)"
    " AND (CAST(:status AS text) IS NULL OR j.status::text = :status)"
    " ORDER BY j.id DESC LIMIT :limit"
)


async def recent_jobs(
    db: Database, *, queue: str, limit: int, task: str | None = None, status: str | None = None
) -> list[dict[str, Any]]:
    """The newest jobs first, with their state and, for a failed one, the reason its task
    recorded."""
    rows = await db.fetch_all(
        _RECENT.bindparams(queue=queue, task=task, status=status, limit=limit)
    )
    jobs = [
        {
            "id": row["id"],
            "task": row["task_name"],
            "status": row["status"],
            "attempts": row["attempts"],
            "args": json_object(row["args"]),
            "updated_at": iso(row["updated_at"]),
            "error": None,
        }
        for row in rows
    ]
    await _attach_errors(db, jobs)
    return jobs


async def _attach_errors(db: Database, jobs: list[dict[str, Any]]) -> None:
    """The reason each job's task recorded, on its own row (one query per kind of task)."""

    def ids(task: str, key: str) -> dict[str, list[dict[str, Any]]]:
        found: dict[str, list[dict[str, Any]]] = {}
        for job in jobs:
            if job["task"] == task and key in job["args"]:
                found.setdefault(str(job["args"][key]), []).append(job)
        return found

    digests = ids(BUILD_DIGEST, "job_id")
    if digests:
        rows = await db.fetch_all(
            sa.select(digest_jobs.c.id, digest_jobs.c.error).where(
                digest_jobs.c.id.in_(list(digests))
            )
        )
        for row in rows:
            for job in digests[str(row["id"])]:
                job["error"] = row["error"]
    messages = ids(SEND_BROADCAST_MESSAGE, "recipient_id")
    if messages:
        rows = await db.fetch_all(
            sa.select(broadcast_recipients.c.id, broadcast_recipients.c.error).where(
                broadcast_recipients.c.id.in_([int(key) for key in messages])
            )
        )
        for row in rows:
            for job in messages[str(row["id"])]:
                job["error"] = row["error"]
    runs = ids(INGEST_FEEDS, "run")
    if runs:
        rows = await db.fetch_all(
            sa.select(audit_log.c.details).where(
                audit_log.c.action == FINISH,
                audit_log.c.target.in_([f"ingest:{run}" for run in runs]),
            )
        )
        for row in rows:
            details = json_object(row["details"])
            for job in runs.get(str(details.get("run")), []):
                job["error"] = details.get("error")
