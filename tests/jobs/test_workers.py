"""Separate job workers on PostgreSQL (`python -m gateway worker`), as an operator runs
them: a worker killed with SIGKILL mid-job, one stopped with SIGTERM, several sharing
the queue. The gateway runs no worker of its own here; the AI stub is made slow so that
jobs are caught while they run. Stall timeouts are short so that the suite stays fast."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from shared.database.engine import Database
from shared.database.migrate import apply_migrations
from shared.database.scratch import create_scratch_database, drop_scratch_database
from tests.conftest import ANCHOR, ROOT, base_url_for, make_settings
from tests.support.gateway_server import GatewayServer
from tests.support.servers import OpenAIStub

FAST_JOBS = {
    "jobs_heartbeat_seconds": 0.5,
    "jobs_stalled_seconds": 4.0,  # 8 missed beats: a loaded CI machine is not a dead worker
    "jobs_stalled_check_seconds": 1,
    "jobs_poll_seconds": 0.5,
}


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    base = base_url_for("postgresql")  # skips without PostgreSQL; fails under CI=true

    async def migrated() -> str:
        url = await create_scratch_database(base, label="jobs")
        db = Database(url)
        await db.connect()
        try:
            await apply_migrations(db)
        finally:
            await db.close()
        return url

    url = asyncio.run(migrated())
    yield url
    asyncio.run(drop_scratch_database(url, base_url=base))


@pytest.fixture
def ai_stub() -> Iterator[OpenAIStub]:
    with OpenAIStub(delay_seconds=3.0) as stub:
        yield stub


class Deployment:
    """A gateway without an embedded worker, and worker processes started on demand."""

    def __init__(self, url: str, stub: OpenAIStub, tmp_path: Path, **settings: object) -> None:
        self.settings = {
            "openai_api_key": "test",
            "openai_base_url": stub.base_url + "/v1",
            "jobs_embedded_worker": False,
            "jobs_queue": f"test-{uuid.uuid4().hex[:8]}",
            **FAST_JOBS,
            **settings,
        }
        self.server = GatewayServer(make_settings(url, **self.settings), force_status="async")
        self.tmp_path = tmp_path
        self.workers: list[subprocess.Popen[bytes]] = []

    def start(self) -> httpx.Client:
        self.server.start()
        self.server.reset_data(anchor=ANCHOR)
        return httpx.Client(base_url=self.server.url, timeout=30)

    def worker(self, concurrency: int = 4) -> subprocess.Popen[bytes]:
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "DATABASE_URL": self.server.settings.database_url,
            **{key.upper(): str(value) for key, value in self.settings.items()},
        }
        process = subprocess.Popen(
            [sys.executable, "-m", "gateway", "worker", "--concurrency", str(concurrency)],
            cwd=self.tmp_path,  # no .env of the checkout
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=open(self.tmp_path / f"worker-{len(self.workers)}.log", "wb"),  # noqa: SIM115
        )
        self.workers.append(process)
        return process

    def sql(self, query: str) -> list[dict]:
        async def read(db: Database) -> list[dict]:
            return await db.fetch_all(sa.text(query))

        return self.server.run(read(self.server.gateway.bridge.resource.db))

    def queued_jobs(self, columns: str, *, group_by: str = "") -> list[dict]:
        """Rows of this deployment's procrastinate jobs (the database outlives a test)."""
        queue = self.settings["jobs_queue"]
        return self.sql(
            f"SELECT {columns} FROM procrastinate_jobs WHERE task_name = 'digest.build'"
            f" AND queue_name = '{queue}' {group_by}"
        )

    def stop(self) -> None:
        for process in self.workers:
            if process.poll() is None:
                process.kill()
            process.wait(10)
        self.server.stop()


@pytest.fixture
def deploy(
    postgres_url: str, tmp_path: Path
) -> Iterator[Callable[..., tuple[Deployment, httpx.Client]]]:
    made: list[tuple[Deployment, httpx.Client]] = []

    def make(stub: OpenAIStub, **settings: object) -> tuple[Deployment, httpx.Client]:
        deployment = Deployment(postgres_url, stub, tmp_path, **settings)
        http = deployment.start()
        made.append((deployment, http))
        return deployment, http

    yield make
    for deployment, http in made:
        http.close()
        deployment.stop()


def wait_until(check: Callable[[], bool], *, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"{what}: not within {seconds} s"
        time.sleep(0.05)


def job_status(http: httpx.Client, job_id: str) -> str:
    return http.get(f"/api/digest/jobs/{job_id}").json()["status"]


def create_job(http: httpx.Client) -> str:
    response = http.post("/api/digest/jobs", json={"limit": 3})
    assert response.status_code == 202, response.text
    return response.json()["job_id"]


def test_a_job_whose_worker_is_killed_finishes_on_another_worker(
    deploy: Callable[..., tuple[Deployment, httpx.Client]], ai_stub: OpenAIStub
) -> None:
    deployment, http = deploy(ai_stub)
    first = deployment.worker()
    job_id = create_job(http)
    wait_until(lambda: len(ai_stub.requests) == 1, seconds=30, what="the AI call")
    assert job_status(http, job_id) == "running"
    first.send_signal(signal.SIGKILL)
    first.wait(10)

    killed_at = time.monotonic()
    deployment.worker()
    wait_until(lambda: job_status(http, job_id) == "done", seconds=30, what="the retried job")
    # stalled after 4 s without a heartbeat, swept within 1 s, then the 3 s AI call again
    assert time.monotonic() - killed_at < 20
    assert len(ai_stub.requests) == 2  # the killed worker's call, and the retry's
    [row] = deployment.queued_jobs("status, attempts")
    assert row == {"status": "succeeded", "attempts": 2}  # two runs: killed, then retried
    job = http.get(f"/api/digest/jobs/{job_id}").json()
    assert set(job) == {"job_id", "status", "digest"}
    assert deployment.sql("SELECT count(*) AS n FROM digests WHERE model = 'gpt-4o-mini'") == [
        {"n": 1}
    ]


def test_sigterm_lets_a_running_job_finish_within_the_grace(
    deploy: Callable[..., tuple[Deployment, httpx.Client]], ai_stub: OpenAIStub
) -> None:
    deployment, http = deploy(ai_stub, jobs_shutdown_grace_seconds=10)
    worker = deployment.worker()
    job_id = create_job(http)
    wait_until(lambda: len(ai_stub.requests) == 1, seconds=30, what="the AI call")
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(20) == 0
    assert job_status(http, job_id) == "done"
    assert len(ai_stub.requests) == 1


def test_sigterm_hands_a_job_back_to_the_queue_after_the_grace(
    deploy: Callable[..., tuple[Deployment, httpx.Client]], ai_stub: OpenAIStub
) -> None:
    deployment, http = deploy(ai_stub, jobs_shutdown_grace_seconds=0.5)
    worker = deployment.worker()
    job_id = create_job(http)
    wait_until(lambda: len(ai_stub.requests) == 1, seconds=30, what="the AI call")
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(20) == 0
    assert job_status(http, job_id) == "queued"  # back in the queue, not left running
    [row] = deployment.queued_jobs("status")
    assert row == {"status": "todo"}

    deployment.worker()
    wait_until(lambda: job_status(http, job_id) == "done", seconds=30, what="the handed-back job")


def test_two_workers_share_the_queue_and_a_kill_loses_no_job(
    deploy: Callable[..., tuple[Deployment, httpx.Client]], ai_stub: OpenAIStub
) -> None:
    ai_stub.delay_seconds = 0.3
    deployment, http = deploy(ai_stub)
    doomed, survivor = deployment.worker(), deployment.worker()
    job_ids = [create_job(http) for _ in range(40)]

    def finished() -> int:  # of this test's jobs (the demo data has digest jobs too)
        ids = ", ".join(f"'{job_id}'" for job_id in job_ids)
        query = f"SELECT count(*) AS n FROM digest_jobs WHERE status = 'done' AND id IN ({ids})"
        return deployment.sql(query)[0]["n"]

    wait_until(lambda: finished() >= 10, seconds=60, what="a quarter of the jobs")
    doomed.send_signal(signal.SIGKILL)
    doomed.wait(10)
    wait_until(lambda: finished() == len(job_ids), seconds=90, what="every job")

    assert survivor.poll() is None
    assert {job_status(http, job_id) for job_id in job_ids} == {"done"}
    # each job built one digest, and procrastinate ran each to success exactly once
    assert deployment.sql("SELECT count(*) AS n FROM digests WHERE model = 'gpt-4o-mini'") == [
        {"n": len(job_ids)}
    ]

    # The queue marks a job succeeded just after its task returns (which set it done):
    # CI once read two of them in that moment, still `doing`.
    def statuses() -> list[dict]:
        return deployment.queued_jobs("status, count(*) AS n", group_by="GROUP BY status")

    wait_until(
        lambda: all(row["status"] != "doing" for row in statuses()),
        seconds=10,
        what="the queue's last status writes",
    )
    assert statuses() == [{"status": "succeeded", "n": len(job_ids)}]


def test_a_worker_process_on_sqlite_is_refused_with_the_reason(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "gateway", "worker"],
        cwd=tmp_path,
        env={
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'x.db'}",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "its jobs run in the gateway process" in " ".join(result.stdout.split())
    assert "Traceback" not in result.stdout + result.stderr
