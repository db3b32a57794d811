"""docs/benchmarks.md: verdicts first, then every scenario's table and chart, the
profiles of missed targets, and how the figures were obtained."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from bench.charts import draw
from bench.configs import CONFIGURATIONS
from bench.drain import IN_PROCESS, IN_PROCESS_COMMIT
from bench.scenarios import spread
from bench.verdicts import Verdict

MARKS = {
    "met": "✅ met",
    "missed": "❌ missed",
    "confirmed": "✅ confirmed",
    "confirmed (larger than claimed)": "✅ confirmed (larger than claimed)",
    "refuted": "❌ refuted",
    "partly confirmed": "◐ partly confirmed",
    "not measured": "— not measured",
}

# What a missed target's profile shows, in words (the figures beside it are this run's).
PROFILE_READINGS = {
    "burst1000": (
        "At 1,000 at once the worker is busy, not waiting: the bare sleep endpoint costs "
        "a fraction of a millisecond of CPU per request, this route about a millisecond, "
        "and a thousand of them share one core while the 500 ms waits overlap. The tables "
        "above say where: the DB layer (the pool's checkout and return of 1,000 "
        "connections, asyncpg's protocol for each query), FastAPI's request parsing and "
        "validation, and the gateway's own share (dispatch, headers, statistics). The "
        "pool is sized for the burst and warmed up, so no connection is opened or closed "
        "in the measured rounds (see the connection counts under the table)."
    ),
    "pg-throughput": (
        "At one worker both sides are CPU-bound on one core, so the ratio is the ratio of "
        "CPU per request (see the hot-path table: about half of the legacy route's). At "
        "two workers the machine's two cores are shared by both workers, PostgreSQL and "
        "wrk: the async workers saturate the machine, not their own cores, and the legacy "
        "workers' higher CPU per request is partly hidden behind the same limit, so the "
        "ratio falls. The async route's CPU goes to FastAPI (its middleware, the request "
        "and the response objects), SQLAlchemy's pool checkout and return, asyncpg's "
        "protocol, the row conversion in shared/, and uvicorn; reads are one driver call "
        "each (no BEGIN/ROLLBACK), statements are built once."
    ),
    "overhead": (
        "What the gateway adds to every request: one plain-ASGI frame (the dispatcher, "
        "with its per-path match cache, the control surfaces' lock and the response "
        "guard folded in; they were three layers), the X-Served-By/X-Route-Id headers, "
        "request counts (added to the Prometheus series once a second, not per request), "
        "the error window (counts in twentieths of the window, not an object per "
        "request), and the watcher's once-a-second flush to the database; for a legacy "
        "route also a2wsgi's hand-off to a worker thread and back. In process, with a "
        "half that answers at once, that was 14-16 microseconds a request and is 9. A "
        "request for a half no longer passes through the root app's FastAPI middleware as "
        "well as the half's."
    ),
    "shadow": (
        "The shadow call runs after the primary answer has gone out, but in the same "
        "process and on the same core: its CPU time (the replayed request on the async "
        "half, one in ten replayed to Flask again for noise, and the comparison) is taken "
        "from the primary requests that arrive meanwhile."
    ),
    "cpu-floor": (
        "The floor does the work alone: uvicorn, the route's statements through the "
        "driver, the row conversion and orjson. Around the same work the async half adds "
        "what the tables above show: SQLAlchemy's part of a read (the pool's checkout and "
        "return, the greenlet hand-off, the result processors), FastAPI's dependencies and "
        "parameter parsing, pydantic's validation of the query's contract model, the "
        "response's encoding, and the gateway's dispatch, headers and request statistics. "
        "Tried, in order of effect (CPU per request of GET /api/news/latest on PostgreSQL, "
        "5 s runs of 32 connections): a pool without overflow (overflow connections were "
        "opened and closed every few requests under load: the gateway went from 1.09 to "
        "0.63 ms, the bare async half from 0.95 to 0.62 ms); reads as "
        "one driver call with statements compiled once (earlier); one route table instead "
        "of 17 included routers; FastAPI's per-request OpenTelemetry check off; the root "
        "app's middleware skipped for requests to a half; the hot routes take the "
        "request instead of a `Db`/`RuntimeDep` dependency (a fifth of the dependency "
        "solving); user look-ups built once; then (in-process CPU per request on SQLite, "
        "sequential) routes without parameters found by one look-up instead of a walk of "
        "the table (`/webapp/api/feed` was its 95th route: 0.79 to 0.68 ms), the query "
        "model validated straight from the query string by the hot routes' route class "
        "(FastAPI's handler kept for every 400: 0.47 to 0.40 ms on `/api/news/latest` "
        "with the next two), orjson for the answers, row dicts built in C, and the "
        "gateway's per-request bookkeeping trimmed (its share from 54 to about 20 "
        "microseconds); then reads keep their pooled connection between reads, and when "
        "every connection is with a read the next one takes over the first released, in "
        "the engine's own queue as the floor's pool does, where under load every read had "
        "waited in the pool's queue through a greenlet (through the gateway, 32 "
        "connections: SQLite `/api/news` 1.66-1.96 to 1.47 ms against the floor's 1.33, "
        "`/api/subscriptions` 1.00-1.12 to 0.81-0.89 ms against 0.69-0.74). Left: "
        "FastAPI's and Starlette's middleware and request objects, the gateway's dispatch, "
        "and on SQLite the hand-offs between the loop and aiosqlite's threads, which cost "
        "more the more Python the loop runs between them."
    ),
    "dashboard-cpu": (
        "Tried: the summary runs three statements instead of ten (every one-row figure "
        "side by side in one SELECT, every count by key in one UNION ALL, and the "
        "activity page), and builds them once with the request's moments as bound "
        "parameters, since building and keying statements of that size cost more CPU "
        "than running them. What is left is a request's fixed cost (see `cpu-floor`) "
        "plus three round trips and the response model's validation."
    ),
    "dashboard": (
        "The worker is idle for most of the request: this miss is not CPU. The async "
        "summary runs three statements at once, each on a pooled connection of its own "
        "(`summary` in shared/database/queries/dashboard.py), so it should take one "
        "query time plus its CPU; a pool smaller than three free connections, or a "
        "machine too busy to run the loop, would serialise them."
    ),
    "ingest": (
        "With INGEST_CONCURRENCY=8 the twenty feeds are fetched in three waves; each is "
        "parsed off the loop and stored as it and the ones before it are in (in source "
        "order, for stable ids). Tried: the request waiting on the run is woken when the "
        "run ends in its own process instead of at its next 200 ms poll (1.22 to 1.07 s); "
        "the concurrency limit held for the fetch only, not the parse; the feed stand-in "
        "answering with TCP_NODELAY (it sent its headers and body in two writes and the "
        "body waited 40 ms for the client's delayed ACK, which no real server makes a "
        "client wait: 1.07 to 0.95 s). With 20 at a time the twenty feeds arrive together "
        "about 310 ms in; parsing and storing them and answering take the 60-130 ms after "
        "(the run costs about 100 ms of CPU: feedparser about 1 ms a feed, the rest the "
        "stores through SQLAlchemy and aiosqlite's thread, the fetches and the job), which "
        "is why that configuration stays above 1.2x of 300 ms."
    ),
    "digest": "Twenty AI calls overlap on the loop; the rest is storing each digest.",
    "seed-scenario": "Ten requests waiting on the database leave the loop idle.",
}


def fmt(value: float | None, unit: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if unit == "s":
        return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"
    if unit == "rps":
        return f"{value:,.0f}"
    if unit == "jobs":
        return f"{value:.2f}" if value < 10 else f"{value:.1f}"
    return f"{value:.1f}"


def fmt_spread(values: list[float], unit: str) -> str:
    s = spread(values)
    if math.isnan(s["median"]):
        return "—"
    low, high = fmt(s["min"], unit), fmt(s["max"], unit)
    if len(values) == 1 or low == high:
        return fmt(s["median"], unit)
    return f"{fmt(s['median'], unit)} ({low}..{high})"


def fmt_cpu(values: list[float]) -> str:
    """Milliseconds of server CPU per request: hundredths below 10 ms, tenths above."""
    s = spread(values)
    if math.isnan(s["median"]):
        return "—"
    digits = 2 if s["median"] < 10 else 1
    median, low, high = (f"{s[k]:.{digits}f}" for k in ("median", "min", "max"))
    return median if low == high else f"{median} ({low}..{high})"


def _column(rounds: list[dict[str, Any]]) -> Any:
    def values(key: str) -> list[float]:
        return [r[key] for r in rounds if r.get(key) is not None]

    return values


CPU_HEAD = "server CPU ms per request"
HEADS = {
    "burst": [
        "all answered in (median, min..max)",
        CPU_HEAD,
        "p50",
        "p99",
        "answered 2xx",
        "rounds",
    ],
    "throughput": [
        "requests/s (median, min..max)",
        CPU_HEAD,
        "p50 ms",
        "p99 ms",
        "errors",
        "rounds",
    ],
    "paced": [
        "p50 at 100 req/s (median, min..max)",
        CPU_HEAD,
        "p99",
        "answered 2xx",
        "saturated: requests/s",
        "saturated: p50 ms",
        "rounds",
    ],
    "sequential": ["latency (median, min..max)", CPU_HEAD, "p99", "rounds x requests"],
    "single": ["time (median, min..max)", CPU_HEAD, "answers", "rounds"],
    "drain": [
        "drained in (from the workers' start; median, min..max)",
        "jobs/s (median, min..max)",
        "bound: processes x concurrency / AI time",
        "worker CPU ms per job",
        "worker start-up",
        "enqueue: POSTs/s; gateway CPU ms each",
        "jobs done",
        "rounds",
    ],
}


def scenario_table(record: dict[str, Any]) -> list[str]:
    kind = record["kind"]
    if kind == "hot":
        return hot_table(record, with_rps=True)
    head = ["configuration", "workers x threads", *HEADS[kind]]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    skipped, stopped = [], []
    for name, row in record["rows"].items():
        done = row["rounds"]
        if row.get("skipped") or not done:
            skipped.append(f"- `{name}`: {row.get('skipped') or 'no round completed'}")
            continue
        lines.append("| " + " | ".join([f"`{name}`", row["shape"], *_cells(kind, done)]) + " |")
        if row.get("stopped"):
            stopped.append(f"- `{name}`: {row['stopped']}")
    if stopped:
        lines += ["", "Failed:", *stopped]
    if skipped:
        lines += ["", "Not run:", *skipped]
    return lines


def _cells(kind: str, done: list[dict[str, Any]]) -> list[str]:
    col = _column(done)
    ok = sum(r.get("ok", 0) for r in done)
    total = sum(r.get("n", 0) for r in done)
    answered = f"{ok}/{total}" + ("" if ok == total else " ⚠")
    cpu = fmt_cpu(col("cpu_ms_per_request"))
    if kind == "drain":
        return _drain_cells(done)
    if kind == "burst":
        return [
            f"**{fmt_spread(col('total_s'), 's')}**",
            cpu,
            fmt_spread(col("p50_s"), "s"),
            fmt_spread(col("p99_s"), "s"),
            answered,
            str(len(done)),
        ]
    if kind == "throughput":
        return [
            f"**{fmt_spread(col('rps'), 'rps')}**",
            cpu,
            fmt_spread(col("p50_ms"), "ms"),
            fmt_spread(col("p99_ms"), "ms"),
            str(sum(r["errors"] for r in done)),
            str(len(done)),
        ]
    if kind == "paced":
        return [
            f"**{fmt_spread(col('p50_ms'), 'ms')} ms**",
            cpu,
            fmt_spread(col("p99_ms"), "ms") + " ms",
            answered,
            fmt_spread(col("saturated_rps"), "rps"),
            fmt_spread(col("saturated_p50_ms"), "ms"),
            str(len(done)),
        ]
    if kind == "sequential":
        return [
            f"**{fmt_spread(col('median_s'), 's')}**",
            cpu,
            fmt_spread(col("p99_s"), "s"),
            f"{len(done)} x {done[0]['n']}",
        ]
    answers: dict[str, int] = {}
    for r in done:
        for status, count in r["statuses"].items():
            answers[status] = answers.get(status, 0) + count
    return [
        f"**{fmt_spread(col('total_s'), 's')}**",
        cpu,
        ", ".join(f"{k}: {v}" for k, v in sorted(answers.items())),
        str(len(done)),
    ]


def _drain_cells(done: list[dict[str, Any]]) -> list[str]:
    col = _column(done)
    ok = sum(r.get("ok", 0) for r in done)
    total = sum(r.get("n", 0) for r in done)
    enqueue = f"{fmt_spread(col('enqueue_per_s'), 'rps')}; {fmt_cpu(col('cpu_ms_per_enqueue'))}"
    return [
        f"**{fmt_spread(col('drain_s'), 's')}**",
        f"**{fmt_spread(col('jobs_per_s'), 'jobs')}**",
        fmt(done[0].get("bound_jobs_per_s"), "jobs"),
        fmt_cpu(col("cpu_ms_per_job")),
        fmt_spread(col("startup_s"), "s"),
        enqueue,
        f"{ok}/{total}" + ("" if ok == total else " ⚠"),
        str(len(done)),
    ]


def drain_extras(record: dict[str, Any]) -> list[str]:
    """The drain's commands, what bounds it, and the figures from before procrastinate."""
    ai = record.get("ai_delay_s", 2.0)
    enqueuer = record.get("enqueuer", {})
    lines = [
        f"The jobs are queued by `{enqueuer.get('name')}` "
        f"(`{enqueuer.get('command')}`), {record['jobs']:,} POSTs over 16 connections, "
        "before any worker runs; each row then starts its worker processes "
        "(`python -m gateway worker --concurrency C`, the gateway's settings and database) "
        "and counts the jobs' rows in `digest_jobs` four times a second until every one is "
        "done. *Drained in* runs from the workers' start (their start-up, shown apart, "
        "included); *jobs/s* is the jobs done over the time from the first worker ready "
        "to the last job done. *Worker CPU* is the worker processes' CPU time from the "
        "moment each said it was ready (start-up excluded: imports and connecting, about "
        "the *worker start-up* column's time) to the last job, over the jobs.",
        "",
        f"What bounds it: each job waits {ai:g} s for the AI, and a worker runs "
        "`--concurrency` jobs at once (JOBS_CONCURRENCY, 4 by default), so one default "
        f"worker drains at most {4 / ai:g} jobs/s on any machine: add worker processes or "
        "raise the concurrency. The rows with a higher --concurrency show what the design "
        "allows here. A queue of N jobs takes ceil(N / (processes x concurrency)) waves of "
        f"{ai:g} s at least, so the bound is N over that time (a queue shorter than "
        f"processes x concurrency: N / {ai:g} s). Wall-clock figures move with the "
        "machine's other work; CPU per job is the steadier figure.",
        "",
        *_drain_waves(record, ai),
        f"Before procrastinate (commit {IN_PROCESS_COMMIT}, `docs/benchmarks/results.json` "
        "there, scenario f of a `--full` run): a digest job was a task on the gateway's own "
        "loop, in memory, gone if the process stopped; the benchmark measured that work in "
        f"the request instead (`POST /api/digest/generate`), {IN_PROCESS[0][2]} at once, "
        "the AI stand-in answering in 2 s: what one process does with that many AI calls "
        "in flight. It did not measure CPU yet.",
        "",
        "| configuration (commit "
        + IN_PROCESS_COMMIT
        + ") | backend | digests | all written in (median, min..max) | digests/s | rounds |",
        "|---|---|---|---|---|---|",
    ]
    for config, backend, n, (median, low, high), rounds in IN_PROCESS:
        lines.append(
            f"| `{config}` | {backend} | {n} | {median:.2f} s ({low:.2f} s..{high:.2f} s) | "
            f"{n / median:.1f} | {rounds} |"
        )
    return lines


def _drain_waves(record: dict[str, Any], ai: float) -> list[str]:
    """How long each wave of processes x concurrency jobs took: the AI call plus whatever
    fetching, starting and storing the jobs added (measured, not assumed)."""
    waves = []
    jobs = record["jobs"]
    for name, row in record["rows"].items():
        rates = [r["jobs_per_s"] for r in row["rounds"] if r.get("jobs_per_s")]
        if rates and not row.get("skipped"):
            count = math.ceil(jobs / (row["processes"] * row["concurrency"]))
            wave_s = jobs / spread(rates)["median"] / count
            waves.append(f"`{name}` {wave_s:.2f} s (+{(wave_s - ai) * 1000:.0f} ms)")
    if not waves:
        return []
    return [
        f"Time per wave (processes x concurrency jobs, each waiting {ai:g} s for the AI; "
        "beyond that, fetching, starting and storing the jobs through PostgreSQL on this "
        "shared machine): " + ", ".join(waves) + ".",
        "",
    ]


def verdict_table(verdicts: list[Verdict], what: str) -> list[str]:
    lines = [f"| {what} | measured in this run | verdict |", "|---|---|---|"]
    for v in verdicts:
        lines.append(f"| {v.statement} | {v.measured} | {MARKS.get(v.status, v.status)} |")
    return lines


def scenario_extras(record: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    if record["kind"] == "drain":
        lines += drain_extras(record)
    if "calibration" in record:
        cal = record["calibration"]
        lines.append(
            "Client calibration (the same 1,000 requests to the bare sleep endpoint): the "
            f"raw asyncio client saw all answered in {fmt(cal['raw']['total_s'], 's')}, "
            f"httpx.AsyncClient in {fmt(cal['httpx']['total_s'], 's')}. The bursts use the "
            "raw client so that the figures are the server's, not the client's."
        )
    if record.get("connections"):
        lines.append(
            f"Connections each server held on the database server (pg_stat_activity; "
            f"DB_POOL_SIZE={record.get('pool_size')}, max_connections="
            f"{record.get('max_connections')}): "
            + ", ".join(
                f"`{name}` {held.get('warm', '?')} after its warm-up burst, "
                f"{held.get('after_rounds', '?')} after the measured rounds"
                for name, held in record["connections"].items()
            )
            + "."
        )
    if "endpoints" in record:
        lines.append(
            f"Endpoints in the mix ({len(record['endpoints'])}): "
            + ", ".join(f"`{p}`" for p in record["endpoints"])
        )
        if record.get("left_out"):
            lines.append("")
            lines.append("Left out (not a 2xx on every configuration):")
            for path, answers in record["left_out"].items():
                why = "; ".join(f"{name}: {answer}" for name, answer in answers.items())
                lines.append(f"- `{path}`: {why}")
    if "parts" in record:
        parts = record["parts"]
        lines.append(
            f"Each of the summary's {len(parts)} figures alone on `gateway-async-1` "
            f"({record.get('query_latency_s', 0) * 1000:.0f} ms per query): "
            + ", ".join(
                f"`{p.rsplit('/dashboard/', 1)[-1]}` {fmt(v, 's')}" for p, v in parts.items()
            )
            + f". Sum: {fmt(sum(parts.values()), 's')}; slowest: {fmt(max(parts.values()), 's')}."
        )
    if "shadow_parity" in record and record["shadow_parity"]:
        parity = record["shadow_parity"]
        lines.append(
            "Shadow side of `gateway-shadow-1` for `news.latest_news` during the run: "
            + ", ".join(f"{k} {v}" for k, v in parity.items() if not isinstance(v, dict | list))
        )
    if "source_setup" in record:
        how = sorted(set(record["source_setup"].values()))
        lines.append("Feed sources set up through: " + "; ".join(how) + ".")
    tools = {r.get("tool") for row in record["rows"].values() for r in row["rounds"]}
    if "python" in tools:
        lines.append(
            "Measured with the Python client (wrk not installed, or `--python-load`), not wrk."
        )
    for note in record.get("notes", []):
        lines.append(f"Note: {note}")
    return lines


def hot_table(record: dict[str, Any], *, with_rps: bool = False) -> list[str]:
    """Rows: configurations; columns: the routes of the frontend's hot path; cells: server
    CPU ms per request (median, min..max over the rounds). `with_rps`: each route's
    requests/s too, and the rounds."""
    paths = record.get("routes") or []
    head = ["configuration", *(f"`{path}`" for path in paths)]
    if with_rps:
        head += ["requests/s per route (median, in the same order)", "errors", "rounds"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    skipped = []
    for name, row in record["rows"].items():
        done = row["rounds"]
        if row.get("skipped") or not done:
            skipped.append(f"- `{name}`: {row.get('skipped') or 'no round completed'}")
            continue

        def route(path: str, key: str, done: list[dict[str, Any]] = done) -> list[float]:
            return [
                r["routes"][path][key]
                for r in done
                if r["routes"].get(path, {}).get(key) is not None
            ]

        cells = [fmt_cpu(route(path, "cpu_ms_per_request")) for path in paths]
        if with_rps:
            rates = [fmt(spread(route(path, "rps"))["median"], "rps") for path in paths]
            cells += [" / ".join(rates), str(sum(r["errors"] for r in done)), str(len(done))]
        lines.append(f"| `{name}` | " + " | ".join(cells) + " |")
    if skipped:
        lines += ["", "Not run:", *skipped]
    return lines


BACKEND_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


def hot_overview(records: list[dict[str, Any]]) -> list[str]:
    """The hot-path CPU table of each backend measured in this run."""
    lines: list[str] = []
    for record in records:
        if record["kind"] != "hot" or not any(row["rounds"] for row in record["rows"].values()):
            continue
        backend = record["name"].split("-", 2)[2]
        lines += [f"{BACKEND_NAMES.get(backend, backend)}:", ""]
        lines += [*hot_table(record), ""]
    return lines or ["The hot-path scenarios did not run in this run."]


CPU_SCENARIOS = ("throughput-sqlite", "throughput-postgresql", "mixed", "dashboard-cpu")


def cpu_overview(records: list[dict[str, Any]]) -> list[str]:
    """Server CPU ms per request of every configuration in the closed-loop scenarios."""
    measured = [r for r in records if r["name"] in CPU_SCENARIOS]
    names = [name for name in CONFIGURATIONS if any(_cpu_values(r, name) for r in measured)]
    if not names:
        return ["No closed-loop scenario with CPU figures in this run."]
    heads = [f"{r['name']} (`{r['request']}`)" for r in measured]
    lines = ["| configuration | " + " | ".join(heads) + " |", "|---|" + "---|" * len(heads)]
    for name in names:
        cells = [fmt_cpu(_cpu_values(r, name)) for r in measured]
        lines.append(f"| `{name}` | " + " | ".join(cells) + " |")
    return lines


def _cpu_values(record: dict[str, Any], config: str) -> list[float]:
    row = record["rows"].get(config)
    if not row or row.get("skipped"):
        return []
    return [r["cpu_ms_per_request"] for r in row["rounds"] if r.get("cpu_ms_per_request")]


def reading_for(key: str) -> str | None:
    """What a missed goal's profile shows, in words (PROFILE_READINGS, by key prefix)."""
    return next((text for prefix, text in PROFILE_READINGS.items() if key.startswith(prefix)), None)


def profile_section(profiles: list[dict[str, Any]]) -> list[str]:
    if not profiles:
        return ["No target was missed where a profile could be recorded in this run."]
    lines = []
    for p in profiles:
        lines += [f"### `{p['config']}` — {p['target']}", ""]
        if p.get("also"):
            lines += ["Also behind: " + "; ".join(p["also"]) + ".", ""]
        if p.get("problem"):
            lines += [f"No profile: {p['problem']}", ""]
            continue
        lines.append(
            f"py-spy (`--gil`: the thread running Python), {p['seconds']:.0f} s at 100 Hz "
            f"while the scenario's own load ran again, {p['samples']} samples: flame graph "
            f"[{Path(p['svg']).name}]({p['svg']}). The server used {p['user_s']:.1f} s user "
            f"+ {p['system_s']:.1f} s system CPU in those {p['wall_s']:.1f} s."
        )
        lines += ["", "| where the CPU time was (self time, by package) | share |", "|---|---|"]
        lines += [f"| `{row['name']}` | {row['percent']:.1f}% |" for row in p["by_package"][:8]]
        lines += ["", "| hottest functions (self time) | share |", "|---|---|"]
        lines += [f"| `{row['name']}` | {row['percent']:.1f}% |" for row in p["by_function"][:8]]
        readings = [reading_for(key) for key in [p["key"], *p.get("also_keys", [])]]
        for reading in dict.fromkeys(r for r in readings if r):  # each once, in order
            lines += ["", reading]
        lines.append("")
    return lines


GEVENT = """\
`gunicorn -k gevent` monkey-patches the worker before the app is imported, and the
legacy app runs under it unchanged: the bridge's background "thread"
(`shared/database/bridge.py`, standalone mode) becomes a greenlet on the worker's one OS
thread; asyncio's selector is gevent's (`selectors.DefaultSelector` is
`gevent.selectors.GeventSelector`), so while the bridge's loop waits for a socket or a
timer it yields to the gevent hub instead of blocking the process; a view's
`future.result()` waits on a patched lock, which yields too; `call_soon_threadsafe`
wakes the loop through a patched socket pair. So many views wait on the database at
once in one worker: `legacy-gevent-1` keeps up with the async configurations in the
read bursts above, with no rewrite. Where it breaks:

- **Writes on SQLite deadlock the worker** (scenario f: of 20 digests at once, each
  inserting a row, next to none is answered within the client's 15 s; left to finish,
  they answer 503 after about 90 s, by hand). aiosqlite runs each
  connection's statements on a thread of its own, which is a greenlet here, on the same
  OS thread as everything else. When one request holds SQLite's write lock and another's
  INSERT must wait for it, SQLite's busy handler sleeps inside C for up to the 30 s busy
  timeout: the whole worker stops, including the greenlet that would commit and release
  the lock. On PostgreSQL, whose driver does all its I/O through the patched selector,
  the same burst succeeds (scenario f on PostgreSQL in `--full` runs; by hand: 20
  digests in 2.1 s).
- **Nothing may run an event loop of its own.** asyncio's "running loop" is per OS
  thread, and every greenlet shares it: from a view, `asyncio.get_running_loop()`
  returns the bridge's loop and `asyncio.run()` raises "cannot be called from a running
  event loop" (checked with a minimal script). The seed's `run_async()` fails this way:
  with several requests in flight, the second greenlet to call
  `loop.run_until_complete()` gets "Cannot run the event loop while another loop is
  running" (`before-run-async-gevent-1` in scenario a: most requests answer 500).
- Any other blocking C call (a large JSON encoding, sqlite3 reads) stalls every request
  of the worker, and greenlets never get a second core.

gevent is a workable stop-gap for the legacy routes on PostgreSQL with today's bridge;
it is not a way to keep the seed's code as it was, nor safe with SQLite writes.
"""

METHOD = """\
- **Processes.** Every configuration is its own process group on 127.0.0.1 and a free
  port, started with a clean environment; the harness stops each group with SIGTERM and,
  after 10 s, SIGKILL (also on Ctrl-C and on errors), and checks /proc for leftovers.
- **Same data.** One database per backend is migrated and seeded by
  `python -m gateway migrate` (DEMO_DATA=true) on a scratch database; every server gets
  its own byte-identical copy (a file copy on SQLite, `CREATE DATABASE … TEMPLATE` on
  PostgreSQL), dropped when it stops.
- **Same CPU.** Nothing is pinned: every server, the load generator and the stub servers
  share the machine's cores. A 1-worker configuration can use one core, a 2-worker one
  two (while the load generator competes for them).
- **Rounds.** Within a scenario the configurations run back to back (A B C, A B C, …);
  tables give the median with min..max over the rounds. Every ratio in the verdicts is
  computed round by round from measurements taken seconds apart, then its median taken.
- **Throughput** is wrk (`-t1`, closed loop, `--latency`, `bench/lua/workload.lua`);
  errors are socket errors plus non-2xx/3xx answers. Closed-loop latency hides queueing
  that an open-loop generator would show (coordinated omission): compare p99s within a
  table, not with an SLO.
- **Bursts** start N requests at once, each on a connection of its own, from an asyncio
  client that writes HTTP/1.1 itself: httpx.AsyncClient (`--burst-client httpx`) needs
  several seconds of its own CPU for 1,000 at once here, which would hide what the
  server does (`--full` runs show both clients on the same 1,000 requests in scenario
  b). Time is from the first request sent to the last answer read; percentiles are
  exact, from every sample. A request unanswered after 3x its expected time (at least
  15 s) counts as failed, and a configuration that fails a round is not run again.
- **CPU per request** is the user + system CPU time of the server's process tree (the
  process started, its workers, and children they reaped: utime, stime, cutime and
  cstime from /proc/<pid>/stat) over one measurement, divided by the requests answered
  in it (wrk's count; a burst's N). It includes what else the server did meanwhile
  (the gateway's once-a-second flush, shadow replays) and nothing of the load
  generator's. It is read to the nanosecond from every thread's run time
  (/proc/<pid>/task/<tid>/schedstat), so a burst of ten requests has a figure too; when
  a thread or process of the server ended within the window (an overflow connection's
  aiosqlite thread, a worker), from the 10 ms ticks instead, which keep their time. It
  is steadier than requests per second on a shared machine, not immune to it: with the
  other core busy, the same request takes more CPU time (caches, memory bandwidth).
- **The floor** (`floor-1`, `bench/floor_app.py`) is a minimal FastAPI app serving only
  the frontend's hot path (`GET /api/news/latest`, `/api/news`,
  `/api/subscriptions?user_id=1`, `/api/events/`, `/webapp/api/feed?user_id=1`): for
  each, the statements the async half's queries compile to, in the same order (its
  concurrent pairs side by side), run with the same driver without SQLAlchemy
  (asyncpg's pool, or aiosqlite connections), the rows turned into items by the same
  functions, and the answer encoded with orjson. The smoke test checks that each of
  the five answers what the async half answers, bare and through the gateway, on
  SQLite and on PostgreSQL.
- **Injected latency.** `DB_SIMULATED_LATENCY_MS` sleeps (without blocking the loop)
  inside every query, after a pooled connection has been checked out: it stands for
  the database's own time (a slow query, a distant server), so it holds the connection
  as a slow query would (docs/architecture.md, "Injected latency and the pool"). The
  pool has no overflow, so a burst waits on at most `DB_POOL_SIZE` queries at once per
  process; the burst profiles size it by Little's law, connections = requests in
  flight at once (arrival rate x time each holds one): 100 for `burst100` and
  `audit10` (SQLite), 1,000 for `burst1000`, which runs on PostgreSQL: a private
  server the harness starts for it (initdb and pg_ctl in a temp dir, on a free port,
  `max_connections=1100`, `shared_buffers=64MB`, fsync off), migrated and seeded as
  the others, removed at the end. The shared server allows 100 connections; the
  PostgreSQL throughput runs use `DB_POOL_SIZE=5` per process there, with up to a
  dozen servers connected at once. In `burst1000` only one server holding up to 1,000
  connections runs at a time (`--full` measures the other configurations in groups
  first, then `gateway-async-1` beside `sleep-1`), and each server is warmed up with a
  burst of its own before the measured rounds, so that they open no connection: the
  report gives the connections each held after the warm-up and after the rounds
  (pg_stat_activity). `gateway-async-1-pool10` (`--full` runs, in `burst100` and
  `burst1000`) shows the default pool: beyond its 10 connections a query waits up to
  `DB_POOL_TIMEOUT_SECONDS` (5 s), then its request answers 503.
- **Flask not loaded.** `gateway-retired-1` serves the `retired` manifest (every route
  on `async`, `legacy_half: retired`): the gateway never imports Flask, mounts no a2wsgi
  app and starts no WSGI threads, but keeps its dispatch, headers, metrics and flushes;
  the smoke test checks that it answers what the async half answers, with
  `flask_imported: false`.
- **Job drain** (`jobs-drain`, PostgreSQL only: on SQLite the queue lives in the
  gateway's memory and no other process can take a job). The worker processes are
  started after the jobs are queued and stopped (SIGTERM) once every job's row says
  `done`; their CPU is read from /proc as above, from the moment each logs that it is
  ready. Every job makes one call to the OpenAI stand-in (`bench/stubs.py`, a thread per
  request, its CPU not counted).
- **Servers.** uvicorn runs with uvloop and httptools (the `uvicorn[standard]` extras);
  gunicorn with `--no-control-socket` (gunicorn 27 otherwise shares one socket path
  between every master on the machine). The gateway's a2wsgi pool is
  `LEGACY_THREADS=32`.
- **"Before".** `bench/baseline_run_async.py` serves the same Flask views with the
  audit's `run_async()`: a new event loop per bridge call, and therefore a new engine,
  pool and connection (and new HTTP/AI clients) per call, as the seed had. The seed
  reused the thread's loop when one was set; a new loop per call is the audit's own
  description of it, and an engine cannot outlive its loop in any case.
"""


def write(
    path: Path,
    *,
    meta: dict[str, Any],
    records: list[dict[str, Any]],
    targets: list[Verdict],
    claims: list[Verdict],
    profiles: list[dict[str, Any]],
) -> None:
    charts_dir = path.parent / "benchmarks"
    used = [name for name in CONFIGURATIONS if any(name in r["rows"] for r in records)]
    mode = meta["mode"]
    lines = [
        "# Benchmarks: before and after the migration",
        "",
        f"Produced by `{meta['command']}` ({mode} mode) on {meta['started']} UTC in "
        f"{meta['elapsed_min']:.1f} min. Load average (1/5/15 min) at the start "
        f"{meta['load_before']}, at the end {meta['load_after']}."
        + (
            f" Tables and charts re-rendered from its results.json on {meta['rendered']} UTC."
            if meta.get("rendered")
            else ""
        ),
        "",
    ]
    for merged in meta.get("merged", []):
        lines += [
            ("Scenarios " if len(merged["scenarios"]) > 1 else "Scenario ")
            + ", ".join(f"`{name}`" for name in merged["scenarios"])
            + (" come" if len(merged["scenarios"]) > 1 else " comes")
            + f" from a later run, `{merged['command']}` ({merged['mode']} mode) on "
            f"{merged['started']} UTC (load average at its start {merged['load_before']}, "
            f"at its end {merged['load_after']}), merged into this one's results.json "
            "(`--render … --merge …`).",
            "",
        ]
    if mode != "full":
        lines += [
            f"> This is a **{mode}** run ({meta['rounds']} rounds, {meta['duration_s']:g} s "
            "wrk runs, the slowest configurations skipped) on a machine shared with other "
            "work (see the load averages): it checks the harness end to end, and its "
            "figures are indicative. The reference figures come from "
            "`python -m bench --full` on a quiet machine.",
            "",
        ]
    lines += [
        "Run it: `python -m bench --quick` (under 5 minutes), `python -m bench --full` "
        "(about half an hour), `python -m bench --scenario audit10 --scenario burst1000` "
        "(some scenarios), `python -m bench --smoke` (start, one request, stop, for every "
        "configuration), `python -m bench --render docs/benchmarks/results.json` (this "
        "report again from the data it was made from), `python -m bench --scenario "
        "jobs-drain --drain-jobs 1000` (the job drain at full size in a quick run), "
        "`python -m bench --render docs/benchmarks/results.json --merge RUN/results.json` "
        "(a later run's scenarios in place of the same ones). wrk comes from Debian "
        "(`apt-get install -y wrk`); without it throughput falls back to a Python client.",
        "",
        "## Machine",
        "",
        f"- {meta['machine']['nproc']} cores ({meta['machine']['cpu']}), "
        f"{meta['machine']['memory']} memory, Linux {meta['machine']['kernel']}",
        "- " + ", ".join(f"{k} {v}" for k, v in meta["versions"].items()),
        "",
        "## The performance goals",
        "",
        *verdict_table(targets, "goal"),
        "",
        "## Server CPU per request",
        "",
        "Milliseconds of the server's CPU time per request answered (median, min..max over "
        "the rounds; see how the figures were obtained), in the closed-loop scenarios. "
        "`floor-1` is the floor: the same queries and rows with the same driver, FastAPI "
        "and orjson, nothing else (measured in the throughput scenarios in `--full` runs, "
        "and on each route of the hot path below in every run).",
        "",
        *cpu_overview(records),
        "",
        "### The frontend's hot path",
        "",
        "Server CPU ms per request on each of the five hottest read routes (the "
        "frontend's hot path), one route at a time under a closed loop of 32 connections "
        "(scenarios `hot-routes-sqlite` and `hot-routes-postgresql`): `floor-1` answers "
        "each with the same statements, driver, rows and orjson, nothing else; the goal "
        "is `gateway-async-1` within 1.5x of it on every route; `legacy-sync-1` is the "
        "legacy half's figure, which must not rise.",
        "",
        *hot_overview(records),
        "## The audit's claims (the review of the Flask app that started the migration)",
        "",
        *verdict_table(claims, "claim"),
        "",
        "## Configurations",
        "",
        "| name | what | workers x threads | command |",
        "|---|---|---|---|",
    ]
    for name in used:
        c = CONFIGURATIONS[name]
        env = dict(c.env)
        if c.manifest:
            env["MIGRATION_MANIFEST"] = f"manifest-{c.manifest}.yaml"
        extra = " ".join(f"{k}={v}" for k, v in env.items())
        command = (extra + " " if extra else "") + c.command()
        what = c.label + (f" ({c.note})" if c.note else "")
        lines.append(f"| `{name}` | {what} | {c.shape} | `{command}` |")
    facts = meta.get("manifests", {})
    if "async" in facts:
        kept = facts["async"].get("kept_legacy") or []
        lines += [
            "",
            "Gateway manifests: copies of migration_status.yaml with every status rewritten "
            "(`manifest-legacy.yaml`: every route on legacy; `manifest-shadow.yaml`: the "
            "same, with `news.latest_news` on shadow at sample rate 1; "
            "`manifest-retired.yaml`: every route on `async` and `legacy_half: retired`, so "
            "the gateway never imports Flask). "
            f"The `async` manifest puts every route the async half implements on `async` "
            f"({facts['async']['routes'] - len(kept)} of {facts['async']['routes']})"
            + (f"; left on legacy: {', '.join(f'`{k}`' for k in kept)}." if kept else "."),
        ]
    lines += ["", "## Scenarios", ""]
    for record in records:
        lines += [f"### {record['title']}", "", record["question"], ""]
        lines += [f"Request: `{record['request']}`; settings: {record['settings']}.", ""]
        lines += scenario_table(record)
        extras = scenario_extras(record)
        if extras:
            lines += ["", *extras]
        chart = draw(record, charts_dir)
        if chart:
            lines += ["", f"![{record['name']}]({chart})"]
        lines.append("")
    lines += ["## Where the time goes (profiles of missed goals)", "", *profile_section(profiles)]
    lines += ["", "## gevent: the no-rewrite alternative", "", GEVENT]
    lines += ["## How the figures were obtained", "", METHOD]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines).rstrip() + "\n", encoding="utf-8")
