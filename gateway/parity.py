"""`python -m gateway parity`: the corpus replayed against both halves, compared.

Each half gets its own freshly migrated and seeded database (same backend, same demo
anchor), and the whole corpus is replayed in order through the gateway with every route
forced onto that half. Responses are compared on status, content type and JSON body
(after the manifest's rules for the route); after every write, the rows left in the
database are compared too, once background jobs have settled. A noise pass (legacy run
twice) tells fields that differ between runs of the same code from real differences.
Every run reads the same clock: case i happens at the same instants on each half
(`ReplayClock`), so no time window closes on a row between the legacy run and the async one.
"""

from __future__ import annotations

import asyncio
import functools
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
import yaml
from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from starlette.types import ASGIApp

from gateway.compare import Answer, Difference, compare_answers, ignored, json_differences
from gateway.manifest import Manifest, load_manifest
from shared.database.engine import Database
from shared.database.migrate import apply_migrations, demo_anchor, load_demo
from shared.database.rows import set_clock, utcnow
from shared.database.schema import TABLES, digest_jobs
from shared.database.scratch import create_scratch_database, drop_scratch_database
from shared.settings import Settings

CORPUS_DIR = Path(__file__).resolve().parent.parent / "tests" / "parity" / "corpus"
# Fixed, known secrets so the corpus can exercise auth failures and successes alike.
PARITY_ADMIN_TOKEN = "parity-admin-token-0123456789"
PARITY_WEBHOOK_SECRET = "parity-webhook-secret"


@dataclass(frozen=True)
class Case:
    route_id: str
    name: str
    method: str
    path: str
    query: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    json_body: Any = None
    raw_body: str | None = None
    body_size: int | None = None  # a JSON object padded to this many bytes
    chunked: bool = False  # sent with Transfer-Encoding: chunked, no Content-Length
    source: str = "corpus"  # or "recorded": kept from live traffic (gateway/recording.py)

    def content(self) -> bytes | None:
        if self.body_size is not None:
            padding = self.body_size - len(b'{"padding":""}')
            return b'{"padding":"' + b"x" * padding + b'"}'
        if self.raw_body is not None:
            return self.raw_body.encode()
        if self.json_body is not None:
            # As httpx's `json=` encodes it.
            text = json.dumps(self.json_body, ensure_ascii=False, separators=(",", ":"))
            return text.encode()
        return None


@dataclass
class CaseResult:
    case: Case
    differences: list[Difference]
    noise: list[Difference] = field(default_factory=list)


@dataclass
class ParityReport:
    results: list[CaseResult]
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems and all(not result.differences for result in self.results)


def load_corpus(manifest: Manifest, directory: Path = CORPUS_DIR) -> list[Case]:
    cases = []
    for file in sorted(directory.glob("*.yaml")):
        data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
        for route_id, route_cases in data.items():
            entry = manifest.entries.get(route_id)
            if entry is None:
                raise ValueError(f"{file.name}: {route_id} is not in the manifest")
            for raw in route_cases:
                cases.append(
                    Case(
                        route_id=route_id,
                        name=raw["name"],
                        method=raw.get("method", entry.method),
                        path=raw.get("path", entry.path),
                        query=raw.get("query", {}),
                        headers={k: str(v) for k, v in raw.get("headers", {}).items()},
                        json_body=raw.get("json"),
                        raw_body=raw.get("body"),
                        body_size=raw.get("body_size"),
                        chunked=bool(raw.get("chunked")),
                    )
                )
    return cases


def load_recorded(manifest: Manifest, paths: list[str | Path]) -> list[Case]:
    """Recorded cases (`python -m gateway record export`), in the order they were recorded
    across every route, so a session's writes come before the reads that see them."""
    from gateway.recording import recorded_at, recorded_files

    found: list[tuple[datetime, int, Case]] = []
    for file in recorded_files(paths):
        data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
        for route_id, route_cases in data.items():
            entry = manifest.entries.get(route_id)
            if entry is None:
                raise ValueError(f"{file}: {route_id} is not in the manifest")
            for raw in route_cases:
                headers = {k: str(v) for k, v in raw.get("headers", {}).items()}
                headers.update(_replayed_identity(raw.get("identity") or {}))
                case = Case(
                    route_id=route_id,
                    name=raw["name"],
                    method=raw.get("method", entry.method),
                    path=raw.get("path", entry.path),
                    query=raw.get("query", {}),
                    headers=headers,
                    json_body=raw.get("json"),
                    raw_body=raw.get("body"),
                    source="recorded",
                )
                found.append((recorded_at(raw) or datetime.min, len(found), case))
    return [case for _, _, case in sorted(found, key=lambda item: item[:2])]


def _replayed_identity(identity: dict[str, Any]) -> dict[str, str]:
    """The recorded identity with this run's credentials: a right token stays right, a wrong
    one wrong. A Telegram user needs nothing: parity runs without a bot token, so the
    `user_id` the WebApp sends with initData identifies the user, as in development."""
    headers = {}
    if "admin" in identity:
        token = PARITY_ADMIN_TOKEN if identity["admin"] == "right" else "recorded-wrong-token"
        headers["Authorization"] = f"Bearer {token}"
    if "webhook" in identity:
        secret = PARITY_WEBHOOK_SECRET if identity["webhook"] == "right" else "recorded-wrong"
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    return headers


def generalised(path: str) -> str:
    """`news.3.title` -> `news.*.title`: a field that is noisy in one row is noisy in all."""
    return ".".join("*" if part.isdigit() else part for part in path.split("."))


def parity_settings(settings: Settings, database_url: str) -> Settings:
    return settings.model_copy(
        update={
            "database_url": database_url,
            "db_simulated_latency_ms": 0,
            "openai_api_key": None,
            "admin_token": PARITY_ADMIN_TOKEN,
            "telegram_bot_token": None,
            "telegram_webhook_secret": PARITY_WEBHOOK_SECRET,
            # Each replay counts failed sign-ins afresh, not with the last run's (Redis).
            "rate_limit_storage_url": "memory://",
            # A stream ends after a second, so its events can be compared.
            "sse_poll_seconds": 0.2,
            "sse_max_seconds": 1.0,
        }
    )


WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# HEAD and OPTIONS answers have no body: these headers are what is compared instead.
WIRE_HEADERS = ("allow", "content-length")


async def dump_rows(db: Database) -> dict[str, list[dict[str, Any]]]:
    """Every domain table, in id order: what writes leave behind."""
    dump = {}
    for table in TABLES:
        if table.name.startswith("gateway_"):
            continue
        order = list(table.primary_key.columns)
        random_keys = table.info.get("random_ids") or not isinstance(order[0].type, sa.Integer)
        if random_keys and "created_at" in table.c:
            order.insert(0, table.c.created_at)  # random keys (job UUIDs): creation order
        rows = await db.fetch_all(sa.select(table).order_by(*order))
        dump[table.name] = [{k: _plain(v) for k, v in row.items()} for row in rows]
    return dump


async def settle_background_work(db: Database, *, seconds: float = 15) -> None:
    """Wait until background digest jobs (either half's) are finished, so the rows a write
    leaves behind are compared at rest."""
    pending = sa.select(sa.func.count()).where(digest_jobs.c.status.in_(("queued", "running")))
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        if not await db.scalar(pending):
            return
        await asyncio.sleep(0.05)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()  # microseconds kept: request-time stamps show up as noise
    return value


class ReplayClock:
    """The replay's "now" (`shared.database.rows.set_clock`): case i starts at `base` + i
    seconds and follows the wall clock within the case. Each run of the corpus reads the
    same instants, give or take milliseconds inside a case, while the wall clock moves a
    minute or more between the legacy run and the async one: enough for trending's "last
    24 hours" to close on a seeded row in between (and for midnight to pass). Seeded and
    recorded times are whole seconds, so those milliseconds never decide a window.

    A case never leaves its second: after 0.999 s the clock slows, nearing the next second
    without reaching it. It still moves, so that what background work stamps late in a
    case (a digest job a polling worker took up seconds in) differs between two runs as it
    does on the wall clock, and the noise pass reports it; a clock that stopped there gave
    both legacy runs the same stamp, and the async run's earlier one was a difference."""

    CAP_US = 999_000  # the wall clock's pace until here, in microseconds of the case

    def __init__(self, base: datetime) -> None:
        self.base = base.replace(microsecond=0)
        self._case = (self.base, time.perf_counter())

    def start_case(self, index: int) -> None:
        self._case = (self.base + timedelta(seconds=index), time.perf_counter())

    def __call__(self) -> datetime:
        start, t0 = self._case
        elapsed = time.perf_counter() - t0
        micros = int(elapsed * 1_000_000)
        if micros > self.CAP_US:
            over = elapsed - self.CAP_US / 1_000_000  # seconds: the last 1,000 us, ever slower
            micros = self.CAP_US + min(999, int(1000 * over / (1 + over)))
        return start + timedelta(microseconds=micros)


async def replay(
    settings: Settings,
    manifest: Manifest,
    side: str,
    cases: list[Case],
    on_case: Callable[[], None] | None = None,
    wrap_async: Callable[[ASGIApp], ASGIApp] | None = None,
    clock: ReplayClock | None = None,
) -> list[Answer]:
    """Replay `cases` in order through a gateway with every route on `side`, on `clock`
    (by default one starting now)."""
    clock = clock or ReplayClock(utcnow())
    set_clock(clock)
    try:
        return await _replay(settings, manifest, side, cases, on_case, wrap_async, clock)
    finally:
        set_clock(None)


async def _replay(
    settings: Settings,
    manifest: Manifest,
    side: str,
    cases: list[Case],
    on_case: Callable[[], None] | None,
    wrap_async: Callable[[ASGIApp], ASGIApp] | None,
    clock: ReplayClock,
) -> list[Answer]:
    from gateway.app import create_gateway

    app = create_gateway(settings, manifest=manifest, force_status=side, wrap_async=wrap_async)
    answers = []
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://parity") as client:
            for index, case in enumerate(cases):
                clock.start_case(index)
                content = case.content()
                headers = httpx.Headers(case.headers)
                if case.json_body is not None or case.body_size is not None:
                    headers.setdefault("content-type", "application/json")
                response = await client.request(
                    case.method,
                    case.path,
                    params=case.query,
                    headers=headers,
                    content=_in_chunks(content) if case.chunked and content else content,
                )
                answer = Answer.from_bytes(
                    response.status_code,
                    response.headers.get("content-type", ""),
                    response.content,
                    served_by=response.headers.get("x-served-by"),
                )
                if case.method in ("HEAD", "OPTIONS"):
                    wire = {name: response.headers.get(name) for name in WIRE_HEADERS}
                    answer.body = {"body": answer.body, "headers": wire}
                if case.method in WRITE_METHODS:
                    runtime = app.state.gateway.runtime
                    await settle_background_work(runtime.db)
                    answer.rows = await dump_rows(runtime.db)
                answers.append(answer)
                if on_case is not None:
                    on_case()
    return answers


async def _in_chunks(content: bytes, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    """An async body, which httpx sends chunked, without a Content-Length."""
    for start in range(0, len(content), size):
        yield content[start : start + size]


async def _fresh_database(base_url: str, label: str, anchor: Any) -> str:
    url = await create_scratch_database(base_url, label=label)
    db = Database(url)
    await db.connect()
    try:
        await apply_migrations(db)
        await load_demo(db, now=anchor)
    finally:
        await db.close()
    return url


async def run_parity(
    settings: Settings,
    *,
    database_url: str,
    manifest_path: str | None = None,
    only: list[str] | None = None,
    console: Console | None = None,
    recorded: list[str | Path] | None = None,
    corpus: bool = True,
    wrap_async: Callable[[ASGIApp], ASGIApp] | None = None,
) -> ParityReport:
    """`recorded`: files or directories of recorded cases, replayed after the corpus (or
    alone, without `corpus`); `wrap_async` wraps the async half (tests of a broken one)."""
    console = console or Console()
    manifest = load_manifest(manifest_path or settings.migration_manifest)
    cases = load_corpus(manifest) if corpus else []
    cases += load_recorded(manifest, recorded or [])
    if only:
        cases = [case for case in cases if case.route_id in only]
    problems = [
        f"{entry.id}: status {entry.status} but no parity cases in the corpus"
        for entry in manifest.entries.values()
        if corpus
        and entry.status != "legacy"
        and not any(case.route_id == entry.id for case in cases)
        and (not only or entry.id in only)
    ]
    anchor = demo_anchor()
    clock = ReplayClock(utcnow())  # one clock for the three runs
    answers: dict[str, list[Answer]] = {}
    # Diffy's noise pass: Flask against itself finds fields that differ between two runs
    # of the same code (ids of random UUIDs, clocks), reported as noise, not hidden.
    runs = (("legacy", "legacy"), ("noise", "legacy"), ("async", "async"))
    with Progress(console=console, transient=True) as progress:
        for run, side in runs:
            url = await _fresh_database(database_url, f"parity_{run}", anchor)
            task = progress.add_task(f"{run} ({Database(url).backend})", total=len(cases))
            try:
                answers[run] = await replay(
                    parity_settings(settings, url),
                    manifest,
                    side,
                    cases,
                    on_case=functools.partial(progress.advance, task),
                    wrap_async=wrap_async if side == "async" else None,
                    clock=clock,
                )
            finally:
                await drop_scratch_database(url, base_url=database_url)
    console.print(f"replayed {len(cases)} cases on each half, plus a noise pass of the legacy half")
    # Noise is learned per field, not per list position: `items.*.created_at`.
    noisy: dict[str, set[str]] = {}
    row_noise: set[str] = set()
    for index, case in enumerate(cases):
        first, second = answers["legacy"][index], answers["noise"][index]
        paths = noisy.setdefault(case.route_id, set())
        paths.update(generalised(d.path) for d in json_differences(first.body, second.body))
        if first.rows is not None and second.rows is not None:
            row_noise.update(
                generalised(d.path) for d in json_differences(first.rows, second.rows, "rows")
            )
    results = []
    rows_seen: set[str] = set()  # row differences already blamed on an earlier write
    for index, case in enumerate(cases):
        legacy, modern = answers["legacy"][index], answers["async"][index]
        differences = compare_answers(manifest.entries[case.route_id], legacy, modern)
        real = [d for d in differences if not ignored(d.path, tuple(noisy[case.route_id]))]
        noise = [d for d in differences if ignored(d.path, tuple(noisy[case.route_id]))]
        if legacy.rows is not None and modern.rows is not None:
            for difference in json_differences(legacy.rows, modern.rows, "rows"):
                if difference.path in rows_seen:
                    continue
                rows_seen.add(difference.path)
                if ignored(difference.path, manifest.entries[case.route_id].compare.ignore):
                    continue  # declared in the route's entry: `rows.digests.*.duration_ms`
                if ignored(difference.path, tuple(row_noise)):
                    noise.append(difference)
                else:
                    real.append(difference)
        for side, answer in (("legacy", legacy), ("async", modern)):
            expected = "gateway" if case.method == "OPTIONS" else side  # the gateway answers it
            if answer.served_by != expected:
                problems.append(
                    f"{case.route_id} / {case.name}: expected {expected}, got {answer.served_by}"
                )
        results.append(CaseResult(case, real, noise))
    report = ParityReport(results, problems)
    _print_report(report, manifest, console)
    return report


def _print_report(report: ParityReport, manifest: Manifest, console: Console) -> None:
    table = Table(title="parity: legacy vs async")
    for column in ("route id", "status", "cases", "recorded", "identical", "different", "noise"):
        table.add_column(column)
    by_route: dict[str, list[CaseResult]] = {}
    for result in report.results:
        by_route.setdefault(result.case.route_id, []).append(result)
    for route_id, results in by_route.items():
        different = sum(1 for result in results if result.differences)
        table.add_row(
            route_id,
            manifest.entries[route_id].status,
            str(len(results)),
            str(sum(1 for result in results if result.case.source == "recorded")),
            str(len(results) - different),
            f"[red]{different}[/]" if different else "0",
            str(sum(1 for result in results if result.noise)),
        )
    console.print(table)
    noise: dict[str, dict[str, int]] = {}
    for result in report.results:
        for difference in result.noise:
            fields = noise.setdefault(result.case.route_id, {})
            field = generalised(difference.path)
            fields[field] = fields.get(field, 0) + 1
    if noise:
        console.print(
            "[yellow]~ noise[/]: fields that differ between two legacy runs too (clocks, random "
            "ids): reported here, not counted as differences"
        )
    for route_id, fields in noise.items():
        listed = ", ".join(f"{field} ({count})" for field, count in sorted(fields.items()))
        console.print(f"  [yellow]~[/] {route_id}: {listed}")
    for result in report.results:
        for difference in result.differences:
            console.print(
                f"[red]✗[/] {result.case.route_id} / {result.case.name}: {difference.describe()}"
            )
    for problem in report.problems:
        console.print(f"[red]✗[/] {problem}")
    total = len(report.results)
    failed = sum(1 for result in report.results if result.differences)
    verdict = "[green]parity holds[/]" if report.ok else "[red]parity broken[/]"
    console.print(f"{verdict}: {total - failed}/{total} cases identical")
