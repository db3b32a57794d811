"""The report's CPU figures and the verdicts judged on them (records as a run leaves them)."""

from __future__ import annotations

from typing import Any

from bench.report import cpu_overview, scenario_table
from bench.verdicts import target_cpu_floor, target_fan_out, target_summary_cpu


def row(*rounds: dict[str, Any]) -> dict[str, Any]:
    return {"shape": "1 worker(s), 1 event loop each", "skipped": None, "rounds": list(rounds)}


def throughput(rps: float, cpu_ms: float) -> dict[str, Any]:
    return {"rps": rps, "p50_ms": 5.0, "p99_ms": 9.0, "errors": 0, "cpu_ms_per_request": cpu_ms}


def record(name: str, rows: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"name": name, "kind": "throughput", "request": "GET /x", "rows": rows, **extra}


def test_a_throughput_table_shows_the_server_cpu_per_request_of_every_configuration() -> None:
    measured = record(
        "throughput-postgresql",
        {
            "gateway-async-1": row(throughput(900, 1.31), throughput(1000, 1.19)),
            "floor-1": row(throughput(3000, 0.24), throughput(3100, 0.24)),
        },
    )

    table = "\n".join(scenario_table(measured))
    overview = "\n".join(cpu_overview([measured]))

    assert "| requests/s (median, min..max) | server CPU ms per request |" in table
    assert "| **950 (900..1,000)** | 1.25 (1.19..1.31) |" in table
    assert "| `floor-1` | 1 worker(s), 1 event loop each | **3,050 (3,000..3,100)** | 0.24 |" in (
        table
    )
    assert "| `gateway-async-1` | 1.25 (1.19..1.31) |" in overview
    assert "| `floor-1` | 0.24 |" in overview


def test_cpu_against_the_floor_is_judged_round_by_round_at_1_5x() -> None:
    def records(*pairs: tuple[float, float]) -> dict[str, Any]:
        rows = {
            "gateway-async-1": row(*(throughput(1000, ours) for ours, _ in pairs)),
            "floor-1": row(*(throughput(3000, floor) for _, floor in pairs)),
        }
        return {"throughput-postgresql": record("throughput-postgresql", rows)}

    # Each round's pair was measured seconds apart: 1.5x, 1.5x and 2x, median 1.5x (the
    # medians of the two columns alone, 0.60 / 0.30, would say 2x).
    met = target_cpu_floor(records((0.30, 0.20), (0.90, 0.60), (0.60, 0.30)))
    missed = target_cpu_floor(records((0.31, 0.20), (0.91, 0.60), (0.60, 0.30)))

    assert [v.status for v in met if v.scenario == "throughput-postgresql"] == ["met"]
    assert [v.status for v in missed if v.scenario == "throughput-postgresql"] == ["missed"]
    assert "floor-1 0.30 ms: 1.50x (1.50..2.00)" in met[0].measured
    assert [v.status for v in met if v.scenario == "throughput-sqlite"] == ["not measured"]


def test_the_summary_may_cost_5_ms_of_cpu_and_no_more() -> None:
    def records(*cpu_ms: float) -> dict[str, Any]:
        rows = {"gateway-async-1": row(*(throughput(100, ms) for ms in cpu_ms))}
        return {"dashboard-cpu": record("dashboard-cpu", rows)}

    assert target_summary_cpu(records(4.2, 5.0, 5.6))[0].status == "met"
    missed = target_summary_cpu(records(5.1, 5.2, 4.0))
    assert missed[0].status == "missed"
    assert missed[0].measured == "gateway-async-1 5.10 ms (4.00..5.20)"
    assert target_summary_cpu({})[0].status == "not measured"


def test_the_summary_fans_out_within_1_2x_of_its_slowest_figure() -> None:
    def records(summary_s: float) -> dict[str, Any]:
        rounds = [{"median_s": summary_s, "ok": 5, "n": 5}]
        rows = {"gateway-async-1": row(*rounds)}
        parts = {"/api/dashboard/activity": 0.105, "/api/dashboard/users": 0.102}
        return {"dashboard": record("dashboard", rows, parts=parts)}

    def verdict(summary_s: float) -> Any:
        return next(v for v in target_fan_out(records(summary_s)) if v.scenario == "dashboard")

    assert verdict(0.126).status == "met"
    assert verdict(0.127).status == "missed"
    assert "slowest figure alone (activity) 105 ms: 1.21x" in verdict(0.127).measured
