"""One PNG per scenario (matplotlib, no display): medians as bars, min..max as whiskers."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from bench.scenarios import spread  # noqa: E402

METRICS = {
    "burst": [("total_s", "time until all are answered (s)")],
    "single": [("total_s", "time (s)")],
    "sequential": [("median_s", "latency of one request (s)")],
    "throughput": [
        ("rps", "requests per second"),
        ("cpu_ms_per_request", "server CPU ms per request"),
        ("p99_ms", "p99 latency (ms)"),
    ],
    "hot": [("cpu_ms_per_request", "server CPU ms per request (the five routes in turn)")],
    "drain": [
        ("jobs_per_s", "jobs per second"),
        ("drain_s", "time to drain, from the workers' start (s)"),
        ("cpu_ms_per_job", "worker CPU ms per job"),
    ],
    "paced": [
        ("p50_ms", "p50 at a fixed 100 req/s (ms)"),
        ("p99_ms", "p99 at a fixed 100 req/s (ms)"),
        ("saturated_rps", "saturated: requests per second"),
    ],
}
COLOURS = {
    "before": "#b5523b",
    "legacy": "#c9a227",
    "gateway-legacy": "#8c6bb1",
    "gateway-shadow": "#6a51a3",
    "gateway-async": "#2b8cbe",
    "async-api": "#41ab5d",
    "sleep": "#969696",
    "floor": "#525252",
    "workers": "#2b8cbe",
}


def colour(config: str) -> str:
    for prefix, value in COLOURS.items():
        if config.startswith(prefix):
            return value
    return "#636363"


def draw(record: dict[str, Any], out_dir: Path) -> str | None:
    """Draw the scenario's chart; its path relative to docs/, or None if nothing ran."""
    rows = {n: r for n, r in record["rows"].items() if r["rounds"] and not r.get("skipped")}
    if not rows:
        return None
    metrics = [
        (key, label)
        for key, label in METRICS[record["kind"]]
        if any(r.get(key) is not None for row in rows.values() for r in row["rounds"])
    ]  # a record from before a figure existed draws without it
    names = list(rows)
    fig, axes = plt.subplots(
        1, len(metrics), figsize=(5.2 * len(metrics) + 1.5, 0.45 * len(names) + 1.6), squeeze=False
    )
    for axis, (key, label) in zip(axes[0], metrics, strict=True):
        stats = [spread([_figure(r, key) for r in rows[n]["rounds"]]) for n in names]
        medians = [s["median"] for s in stats]
        low = [s["median"] - s["min"] for s in stats]
        high = [s["max"] - s["median"] for s in stats]
        positions = range(len(names))
        failing = [_failures(rows[n]["rounds"]) for n in names]
        bars = axis.barh(
            positions,
            medians,
            xerr=[low, high],
            color=[colour(n) for n in names],
            capsize=3,
            ecolor="#333333",
        )
        for bar, failed in zip(bars, failing, strict=True):
            if failed:
                bar.set_hatch("///")
                bar.set_alpha(0.6)
        axis.set_yticks(list(positions), names)
        axis.invert_yaxis()
        axis.set_xlabel(label)
        axis.grid(axis="x", alpha=0.3)
        for position, stat, failed in zip(positions, stats, failing, strict=True):
            if not math.isnan(stat["median"]):
                text = _short(stat["median"]) + (f"  ({failed})" if failed else "")
                axis.annotate(
                    text,
                    (stat["max"], position),
                    xytext=(5, 0),
                    textcoords="offset points",
                    va="center",
                    fontsize=8,
                )
        widest = max(s["max"] for s in stats if not math.isnan(s["max"]))
        axis.set_xlim(right=widest * (1.7 if any(failing) else 1.25))
        if key == "total_s" and record["name"].startswith(("audit10", "burst")):
            axis.axvline(0.5, color="#444444", linestyle=":", linewidth=1)
    fig.suptitle(record["title"], fontsize=10)
    fig.tight_layout()
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{record['name']}.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return f"benchmarks/{path.name}"


def _figure(measurement: dict[str, Any], key: str) -> float:
    value = measurement.get(key)
    return math.nan if value is None else float(value)


def _failures(rounds: list[dict[str, Any]]) -> str:
    """ "only 2/20 answered" when some requests of the rounds failed, else ""."""
    ok = sum(r.get("ok", 0) for r in rounds)
    total = sum(r.get("n", 0) for r in rounds)
    return f"only {ok}/{total} answered" if ok < total else ""


def _short(value: float) -> str:
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"
