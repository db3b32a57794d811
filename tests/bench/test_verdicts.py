"""The report's CPU figures and the verdicts judged on them (records as a run leaves them)."""

from __future__ import annotations

from typing import Any

from bench.report import cpu_overview, hot_overview, scenario_table
from bench.scenarios import HOT_ROUTES
from bench.verdicts import (
    target_db_throughput,
    target_fan_out,
    target_hot_routes,
    target_summary_cpu,
)


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


def hot_round(cpu_ms: dict[str, float]) -> dict[str, Any]:
    routes = {
        path: {"rps": 1000.0, "errors": 0, "cpu_ms_per_request": v} for path, v in cpu_ms.items()
    }
    return {"routes": routes, "requests": 1000 * len(routes), "errors": 0, "rps": 1000.0}


def hot_records(*pairs: tuple[float, float], slow: str | None = None) -> dict[str, Any]:
    """Every route at (ours, floor) per round; `slow` at twice ours."""

    def rounds(index: int) -> list[dict[str, Any]]:
        return [
            hot_round({p: pair[index] * (2 if p == slow and index == 0 else 1) for p in HOT_ROUTES})
            for pair in pairs
        ]

    rows = {"gateway-async-1": row(*rounds(0)), "floor-1": row(*rounds(1))}
    name = "hot-routes-postgresql"
    return {name: record(name, rows, kind="hot", routes=list(HOT_ROUTES))}


def test_cpu_against_the_floor_is_judged_per_route_round_by_round_at_1_5x() -> None:
    # Each round's pair was measured seconds apart: 1.5x, 1.5x and 2x, median 1.5x (the
    # medians of the two columns alone, 0.60 / 0.30, would say 2x).
    met = target_hot_routes(hot_records((0.30, 0.20), (0.90, 0.60), (0.60, 0.30)))
    missed = target_hot_routes(hot_records((0.31, 0.20), (0.91, 0.60), (0.60, 0.30)))
    one_route = target_hot_routes(
        hot_records((0.30, 0.20), (0.90, 0.60), (0.60, 0.30), slow="/api/events/")
    )

    assert [v.status for v in met if v.scenario == "hot-routes-postgresql"] == ["met"]
    assert [v.status for v in missed if v.scenario == "hot-routes-postgresql"] == ["missed"]
    assert [v.status for v in one_route if v.scenario == "hot-routes-postgresql"] == ["missed"]
    assert "`/webapp/api/feed?user_id=1` 1.50x (1.50..2.00) (0.60 vs 0.30 ms)" in met[0].measured
    assert "`/api/events/` 3.00x" in one_route[0].measured
    assert all(f"`{path}`" in met[0].measured for path in HOT_ROUTES)
    assert [v.status for v in met if v.scenario == "hot-routes-sqlite"] == ["not measured"]


def test_the_hot_path_table_has_a_column_per_route_and_a_row_per_configuration() -> None:
    records = hot_records((0.31, 0.20), (0.91, 0.60))
    table = "\n".join(hot_overview(list(records.values())))

    assert "| configuration | `/api/news/latest` | `/api/news` |" in table
    assert "| `floor-1` | 0.40 (0.20..0.60) | 0.40 (0.20..0.60) |" in table
    assert table.startswith("PostgreSQL:")


def test_the_db_throughput_goal_states_each_worker_count() -> None:
    def rps(value: float) -> dict[str, Any]:
        return throughput(value, 1.0)

    rows = {
        "gateway-async-1": row(rps(1000), rps(1000)),
        "legacy-sync-1": row(rps(400), rps(500)),
        "legacy-gthread-1x32": row(rps(700), rps(700)),
    }
    verdicts = target_db_throughput(
        {"throughput-postgresql": record("throughput-postgresql", rows)}
    )

    assert [v.statement.rsplit("[", 1)[1] for v in verdicts] == ["1 worker(s)]", "2 worker(s)]"]
    assert [v.status for v in verdicts] == ["met", "not measured"]
    assert "gateway-async-1 1000 rps vs legacy-sync-1 450 rps: 2.25x (2.00..2.50)" in (
        verdicts[0].measured
    )


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
