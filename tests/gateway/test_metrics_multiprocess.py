"""`python -m gateway serve --workers 2` as an operator runs it: one scrape of `/metrics`,
the dashboard's figures and `routes` cover every worker of the host (each adds its request
counts to the host's files every second), with no per-request database writes; a killed
worker's live gauges leave, its counts stay."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import ROOT

ROUTE_ID, PATH = "metrics.process_metrics", "/api/metrics"  # its answer names its worker's pid


class ServedHost:
    def __init__(self, tmp_path: Path) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self.tmp = tmp_path / "tmp"  # serve makes its metrics directory here
        self.tmp.mkdir()
        self.database = tmp_path / "served.db"
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{self.database}",
            "MIGRATION_MANIFEST": str(ROOT / "migration_status.yaml"),
            "TMPDIR": str(self.tmp),
        }
        for name in ("PROMETHEUS_MULTIPROC_DIR", "ENVIRONMENT", "ADMIN_TOKEN"):
            env.pop(name, None)
        env["DEMO_DATA"] = "false"  # the route below needs no rows
        self.env = env
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gateway", "serve", "--port", str(port), "--workers", "2"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def status(self) -> dict:
        return httpx.get(self.url + "/_gateway/status", timeout=30).json()

    def wait_for_workers(self, count: int, *, without: int | None = None) -> list[int]:
        deadline = time.monotonic() + 180  # two cold interpreters on a busy machine
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "serve exited"
            try:
                workers = self.status()["traffic"]["workers"]
            except httpx.TransportError:
                workers = []
            if len(workers) == count and without not in workers:
                return workers
            time.sleep(0.3)
        raise AssertionError(f"{count} workers never reported")

    def call_every_worker(self) -> tuple[int, set[int]]:
        """Requests on fresh connections until both workers answered: (sent, pids)."""
        sent, pids = 0, set()

        def call(_: int) -> int:
            response = httpx.get(self.url + PATH, headers={"connection": "close"}, timeout=30)
            assert response.status_code == 200
            return response.json()["pid"]

        with ThreadPoolExecutor(8) as pool:
            while len(pids) < 2:
                assert sent < 400, f"every answer came from {pids}"
                pids.update(pool.map(call, range(16)))
                sent += 16
        return sent, pids

    def scrape(self) -> dict[str, list]:
        text = httpx.get(self.url + "/metrics", timeout=30).text
        return {family.name: family.samples for family in text_string_to_metric_families(text)}

    def metrics_dirs(self) -> list[Path]:
        return list(self.tmp.glob("gateway-metrics-*"))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


@pytest.fixture
def served_host(tmp_path: Path) -> Iterator[ServedHost]:
    host = ServedHost(tmp_path)
    try:
        host.wait_for_workers(2)
        yield host
    finally:
        host.stop()


def requests_of(scrape: dict[str, list], route_id: str) -> float:
    return sum(
        sample.value
        for sample in scrape["gateway_requests"]
        if sample.name == "gateway_requests_total" and sample.labels["route"] == route_id
    )


def worker_pids(scrape: dict[str, list]) -> set[int]:
    return {int(sample.labels["pid"]) for sample in scrape["gateway_manifest_info"]}


def test_one_scrape_covers_every_worker_and_a_killed_one_leaves_only_its_counts(
    served_host: ServedHost,
) -> None:
    sent, pids = served_host.call_every_worker()

    # Answered by one worker; each adds its requests to the host's figures every second.
    deadline = time.monotonic() + 10
    while requests_of(scrape := served_host.scrape(), ROUTE_ID) < sent:
        assert time.monotonic() < deadline, f"{requests_of(scrape, ROUTE_ID)} of {sent}"
        time.sleep(0.2)
    assert requests_of(scrape, ROUTE_ID) == sent
    assert worker_pids(scrape) == pids
    assert [sample.value for sample in scrape["gateway_db_pool_in_use"]] == [0]

    status = served_host.status()  # the dashboard's figures: the same, from either worker
    route = next(route for route in status["routes"] if route["id"] == ROUTE_ID)
    assert route["sides"]["async"]["requests"] == sent
    assert status["traffic"] == {"scope": "host", "workers": sorted(pids)}

    routes = subprocess.run(
        [sys.executable, "-m", "gateway", "routes", "--gateway", served_host.url],
        cwd=ROOT,
        env=served_host.env,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    line = next(line for line in routes.splitlines() if f" {ROUTE_ID} " in line)
    assert f" {sent} " in line and "0.0%" in line

    # Traffic figures are not written to the database, per request or per second.
    with sqlite3.connect(served_host.database) as db:
        names = {name for (name,) in db.execute("SELECT DISTINCT name FROM gateway_counters")}
    assert not {"requests_async", "requests_legacy", "errors_async", "errors_legacy"} & names

    killed = min(pids)
    os.kill(killed, signal.SIGKILL)  # no shutdown: its files stay behind
    replacement = served_host.wait_for_workers(2, without=killed)  # uvicorn starts another
    scrape = served_host.scrape()
    assert worker_pids(scrape) == set(replacement)  # its live gauges are gone
    assert requests_of(scrape, ROUTE_ID) == sent  # its counts stay: host totals never go down

    assert len(served_host.metrics_dirs()) == 1
    served_host.stop()
    assert served_host.metrics_dirs() == []  # serve removes the directory it made
