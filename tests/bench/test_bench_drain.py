"""The jobs-drain scenario at a tiny size, through the harness's command line: the digest
jobs are queued, real `python -m gateway worker` processes drain them on PostgreSQL, and
the report gives jobs per second and the time to drain. (The figures themselves are the
benchmark's business; here they only have to exist and add up.)"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

JOBS = 20


def test_a_tiny_drain_reports_jobs_per_second_and_the_time_to_drain(tmp_path: Path) -> None:
    output = tmp_path / "benchmarks.md"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--scenario",
            "jobs-drain",
            "--drain-jobs",
            str(JOBS),
            "--drain-setup",
            "1x4",
            "--drain-setup",
            "2x8",
            "--ai-delay",
            "0.1",
            "--no-profile",
            "--output",
            str(output),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "processes left behind" not in run.stdout

    results = json.loads((tmp_path / "benchmarks" / "results.json").read_text())
    (record,) = results["records"]
    assert record["name"] == "jobs-drain" and record["jobs"] == JOBS
    assert set(record["rows"]) == {"workers-1x4", "workers-2x8"}
    for name, row in record["rows"].items():
        assert row["skipped"] is None and row["rounds"], name
        for figures in row["rounds"]:
            assert figures["n"] == figures["ok"] == JOBS, (name, figures)
            assert figures["failed"] == 0 and figures["enqueue_refused"] == []
            assert figures["drain_s"] > figures["startup_s"] > 0
            # 20 jobs of 0.1 s, at most 4 (or 16) at a time: 5 (or 2) waves at least.
            assert 0 < figures["jobs_per_s"] <= row["bound_jobs_per_s"]
            assert figures["jobs_per_s"] * figures["work_s"] == pytest.approx(JOBS)
            assert figures["cpu_ms_per_job"] > 0 and figures["cpu_ms_per_enqueue"] > 0
    assert record["rows"]["workers-1x4"]["bound_jobs_per_s"] == pytest.approx(4 / 0.1)
    # 16 at once: the 20 jobs take two waves, the second of 4 (not 16 jobs per 0.1 s).
    assert record["rows"]["workers-2x8"]["bound_jobs_per_s"] == pytest.approx(JOBS / 0.2)
    verdicts = [v for v in results["targets"] if v["scenario"] == "jobs-drain"]
    assert verdicts and all(v["status"] in ("met", "missed") for v in verdicts)

    report = output.read_text()
    assert f"### i. {JOBS} digest jobs drained by worker processes" in report
    assert "| `workers-2x8` | 2 worker process(es) x 8 jobs at a time |" in report
    assert "jobs/s (median, min..max)" in report
    assert "Before procrastinate (commit 2da0e07" in report
