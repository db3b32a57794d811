"""The benchmark harness itself (not the figures): every configuration it measures can be
started, answers, and is stopped without leaving a process behind. No wrk, no load."""

from __future__ import annotations

import math
from pathlib import Path

from bench.configs import CONFIGURATIONS
from bench.report import scenario_table
from bench.smoke import HOT_COMPARED, HOT_ROUTES, run_smoke
from tests.conftest import BACKENDS, IN_CI, POSTGRES_URL


def test_every_configuration_starts_answers_and_stops_without_leaving_a_process(
    tmp_path: Path,
) -> None:
    postgres = "postgresql" in BACKENDS
    result = run_smoke(log_dir=tmp_path, postgres_url=POSTGRES_URL if postgres else None)

    assert set(result.answers) == set(CONFIGURATIONS)
    not_ok = {name: answer for name, answer in result.answers.items() if answer != "200"}
    assert not not_ok, f"configurations that did not answer 200: {not_ok} (logs: {tmp_path})"
    assert result.stubs == "200"
    assert all(result.pids.values()), "every configuration ran at least one process"
    assert result.leftovers == {}, f"process groups left behind: {result.leftovers}"
    assert result.still_alive == [], f"pids still alive: {result.still_alive}"
    # The floor does the async half's work: on copies of the same data, the same answer.
    floor = result.bodies["floor-1"]
    assert floor["count"] == 3 and len(floor["news"]) == 3
    assert floor == result.bodies["gateway-async-1"] == result.bodies["async-api-1"]
    # The floor for the frontend's hot path: each of the five routes answers what the async
    # half answers (bare and through the gateway), on SQLite and, when it answers, PostgreSQL.
    assert not result.hot_mismatches(), result.hot_mismatches()
    if postgres and (IN_CI or not result.hot_skipped):
        assert set(result.hot) == {"sqlite", "postgresql"}, result.hot_skipped
    for backend, answers in result.hot.items():
        assert set(answers) == set(HOT_COMPARED), backend
        for path in HOT_ROUTES:
            status, body = answers["floor-1"][path]
            assert status == "200" and body, (backend, path)
            assert body.get("news") or body.get("items") or body.get("subscriptions"), path
    # Flask retired: the same answer, and Flask never imported, no a2wsgi threads.
    assert result.bodies["gateway-retired-1"] == floor
    retired = result.runtimes["gateway-retired-1"]
    assert retired["legacy_half"] == "retired" and retired["flask_imported"] is False
    assert not [t for t in retired["thread_names"] if t.startswith("WSGI")]
    loaded = result.runtimes["gateway-async-1"]
    assert loaded["legacy_half"] == "loaded" and loaded["flask_imported"] is True


def test_a_report_table_lists_medians_and_says_why_a_configuration_was_skipped() -> None:
    record = {
        "kind": "burst",
        "rows": {
            "gateway-async-1": {
                "shape": "1 worker(s), 1 event loop each",
                "skipped": None,
                "rounds": [
                    {"total_s": 0.52, "p50_s": 0.51, "p99_s": 0.52, "ok": 10, "n": 10},
                    {"total_s": 0.55, "p50_s": 0.53, "p99_s": 0.55, "ok": 10, "n": 10},
                    {"total_s": 0.60, "p50_s": math.nan, "p99_s": 0.6, "ok": 9, "n": 10},
                ],
            },
            "legacy-sync-1": {
                "shape": "1 sync worker(s), 1 request each",
                "skipped": "skipped in quick mode: expected about 500 s per round",
                "rounds": [],
            },
        },
    }

    table = "\n".join(scenario_table(record))

    assert (
        "| `gateway-async-1` | 1 worker(s), 1 event loop each | **550 ms (520 ms..600 ms)** |"
        in (table)
    )
    assert "29/30 ⚠" in table
    assert "- `legacy-sync-1`: skipped in quick mode: expected about 500 s per round" in table
