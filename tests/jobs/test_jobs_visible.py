"""The job queue made visible (issue 12, point 8): queued, running, failed and stalled jobs
per task on `/metrics` and on the dashboard, and `python -m gateway jobs` listing recent
jobs with their state and errors. On PostgreSQL with worker processes, the figures are
the queue's, whichever process answers; on SQLite, the gateway's in-memory queue."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx

from shared.database.engine import Database
from shared.database.migrate import apply_migrations
from shared.digest_jobs import STALLED
from tests.conftest import ADMIN_TOKEN, ROOT, make_settings
from tests.jobs.test_workers import (
    Deployment,
    OpenAIStub,
    ai_stub,
    create_job,
    deploy,
    job_status,
    postgres_url,
    wait_until,
)
from tests.support.gateway_server import GatewayServer

__all__ = ["ai_stub", "deploy", "postgres_url"]  # fixtures of test_workers.py

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
FIGURES = ("queued", "running", "failed", "stalled")


def job_metrics(http: httpx.Client, task: str) -> dict[str, int]:
    """This task's figures as `/metrics` exposes them."""
    text = http.get("/metrics").text
    assert "gateway_jobs_figures_up 1.0" in text, text
    figures = {}
    for figure in FIGURES:
        match = re.search(rf'^gateway_jobs_{figure}{{task="{re.escape(task)}"}} (\S+)$', text, re.M)
        assert match, f"gateway_jobs_{figure} for {task} missing"
        figures[figure] = int(float(match.group(1)))
    return figures


def dashboard_row(http: httpx.Client, task: str) -> list[int]:
    """The task's row of the dashboard's jobs panel: queued, running, failed, stalled."""
    response = http.get("/_gateway/", headers=ADMIN)
    assert response.status_code == 200
    panel = response.text.split('<section id="jobs">', 1)[1].split("</section>", 1)[0]
    row = panel.split(f"<code>{task}</code>", 1)[1].split("</tr>", 1)[0]
    return [int(n) for n in re.findall(r">(\d+)<", row)]


def gateway_jobs(deployment: Deployment, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": deployment.server.settings.database_url,
        "JOBS_QUEUE": str(deployment.settings["jobs_queue"]),
        "COLUMNS": "250",
    }
    return subprocess.run(
        [sys.executable, "-m", "gateway", "jobs", *args],
        cwd=deployment.tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_queued_running_stalled_and_failed_jobs_show_per_task(
    deploy: Callable[..., tuple[Deployment, httpx.Client]], ai_stub: OpenAIStub
) -> None:
    # One run per job: a job whose worker dies is failed by the sweep, with its reason.
    deployment, http = deploy(ai_stub, jobs_max_attempts=1)
    assert job_metrics(http, "digest.build") == dict.fromkeys(FIGURES, 0)
    first = deployment.worker(concurrency=1)
    killed = create_job(http)
    wait_until(lambda: len(ai_stub.requests) == 1, seconds=30, what="the AI call")
    waiting = [create_job(http), create_job(http)]
    assert job_metrics(http, "digest.build") == {
        "queued": 2,
        "running": 1,
        "failed": 0,
        "stalled": 0,
    }
    assert dashboard_row(http, "digest.build") == [2, 1, 0, 0]

    first.send_signal(signal.SIGKILL)
    first.wait(10)
    # No worker sweeps: the job stays `doing` on a worker whose heartbeat stopped.
    wait_until(
        lambda: job_metrics(http, "digest.build")["stalled"] == 1,
        seconds=20,
        what="the stalled job",
    )
    assert job_metrics(http, "digest.build")["running"] == 1
    assert dashboard_row(http, "digest.build")[3] == 1

    deployment.worker(concurrency=4)
    wait_until(
        lambda: (
            all(job_status(http, job) == "done" for job in waiting)
            and job_status(http, killed) == "failed"
        ),
        seconds=40,
        what="the queue drained",
    )
    assert job_metrics(http, "digest.build") == {
        "queued": 0,
        "running": 0,
        "failed": 1,
        "stalled": 0,
    }
    assert dashboard_row(http, "digest.build") == [0, 0, 1, 0]
    assert job_metrics(http, "feeds.ingest") == dict.fromkeys(FIGURES, 0)  # every task shows

    listing = gateway_jobs(deployment)
    assert listing.returncode == 0, listing.stderr
    out = listing.stdout
    assert re.search(r"digest\.build\s+│\s+0\s+│\s+0\s+│\s+1\s+│\s+0", out), out
    lines = out.splitlines()
    at = next(i for i, line in enumerate(lines) if f"job_id={killed}" in line)
    assert "digest.build  failed  attempts 1" in lines[at]
    assert lines[at + 1].strip() == f"error: {STALLED}"
    for job in waiting:
        assert "succeeded" in next(line for line in lines if f"job_id={job}" in line)

    failed_only = gateway_jobs(deployment, "--status", "failed")
    assert failed_only.returncode == 0, failed_only.stderr
    assert killed in failed_only.stdout and "succeeded" not in failed_only.stdout


async def migrated(url: str) -> None:
    db = Database(url)
    await db.connect()
    try:
        await apply_migrations(db)
    finally:
        await db.close()


def test_sqlite_shows_the_gateways_own_queue(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/jobs.db"
    asyncio.run(migrated(url))
    with GatewayServer(make_settings(url), force_status="async") as server:
        http = httpx.Client(base_url=server.url, timeout=30)
        response = http.post("/admin/api/ingest", headers=ADMIN)  # no sources: done at once
        assert response.status_code == 200, response.text
        assert job_metrics(http, "feeds.ingest") == dict.fromkeys(FIGURES, 0)
        assert "this gateway's in-memory queue" in http.get("/_gateway/", headers=ADMIN).text
        assert "Latest ingest (admin, by admin" in http.get("/_gateway/", headers=ADMIN).text
        http.close()
    listing = subprocess.run(
        [sys.executable, "-m", "gateway", "jobs"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert listing.returncode == 2
    assert "SQLite keeps the job queue in the gateway's memory" in listing.stdout
