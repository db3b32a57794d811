"""Schemathesis over every operation of the served `/openapi.json` (the SSE stream aside),
against the real gateway with every route on the async half, then on the legacy half:
no 5xx, every answer as documented (status, content type, headers, schema), and every
request the document calls valid is accepted, so a client generated from it is right.

Each operation gets the coverage phase (boundaries and enum values, valid and invalid) and
FUZZ_EXAMPLES generated examples (default 10; `make fuzz` runs many more, with a new
FUZZ_SEED each time). Schemathesis
runs as its own command: its report is the failure message, with a curl line per finding.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT

HERE = Path(__file__).parent
# The suite fuzzes the same cases every run; `make fuzz` draws new ones (the report says
# which seed, for FUZZ_SEED to replay).
SEED = os.environ.get("FUZZ_SEED", "20250901")
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "positive_data_acceptance",
)


@pytest.mark.timeout(900)  # about a minute of CPU per half; a busy machine takes longer
@pytest.mark.parametrize("half", ["async", "legacy"])
def test_every_operation_keeps_the_documented_contract(
    half: str, request: pytest.FixtureRequest, credentials: dict[str, str]
) -> None:
    url = request.getfixturevalue(f"{half}_half")
    command = [
        str(Path(sys.executable).with_name("st")),
        "--config-file",
        str(HERE / "schemathesis.toml"),
        "--no-color",
        "run",
        f"{url}/openapi.json",
        "--checks",
        ",".join(CHECKS),
        "--exclude-path",
        "/api/events/stream",  # an endless stream: tests/api/test_events_stream.py
        "--workers",
        "1",
        *(f"--header={name}: {value}" for name, value in credentials.items()),
    ]
    if "FUZZ_EXAMPLES" in os.environ:
        command += ["--max-examples", os.environ["FUZZ_EXAMPLES"]]
    if SEED != "random":
        command += ["--seed", SEED]
    run = subprocess.run(
        command,
        cwd=ROOT,
        env={**os.environ, "SCHEMATHESIS_HOOKS": "tests.fuzz.hooks"},
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    # Thousands of designed 4xx answers from a fuzzer moved no route back to Flask.
    status = httpx.get(f"{url}/_gateway/status", headers=credentials, timeout=30).json()
    assert status["rollbacks"] == [], status["rollbacks"]
