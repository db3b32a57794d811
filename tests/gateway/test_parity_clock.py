"""The parity replay's clock: each case reads the same "now" on every run.

CI once failed on `news.top_news` (total: legacy 27 != async 26): the legacy run and the
async run of the corpus were a minute apart on the wall clock, and in that minute the
"last 24 hours" window closed on a seeded row. Here a row sits one second inside the
window, the wall clock moves past it between two replays, and both must still see it.
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import sqlalchemy as sa

from gateway.manifest import load_manifest
from gateway.parity import Case, ReplayClock, replay
from shared.database.engine import Database
from shared.database.migrate import load_demo
from shared.database.rows import utcnow
from shared.database.schema import news
from tests.conftest import ANCHOR, ROOT, make_settings

TOP = Case(route_id="news.top_news", name="default page", method="GET", path="/api/news/top")


async def _seed_with_a_row_at_the_edge(url: str, published: object) -> int:
    db = Database(url)
    await db.connect()
    try:
        await load_demo(db, now=ANCHOR)
        async with db.transaction() as tx:
            inserted = await tx.conn.execute(
                sa.insert(news)
                .values(
                    title="On the edge of the window",
                    summary="Published a day ago, less one second.",
                    source_id=1,
                    category="crypto",
                    subcategory="bitcoin",
                    importance=1.0,  # first on the page
                    link="https://demo.newsdigest.invalid/news/edge",
                    published_at=published,
                    created_at=published,
                )
                .returning(news.c.id)
            )
            return int(inserted.scalar_one())
    finally:
        await db.close()


def test_each_case_reads_the_same_now_on_every_run(private_database_url: str) -> None:
    base = utcnow().replace(microsecond=0)
    edge = asyncio.run(
        _seed_with_a_row_at_the_edge(private_database_url, base - timedelta(hours=24, seconds=-1))
    )
    settings = make_settings(private_database_url)
    manifest = load_manifest(str(ROOT / "migration_status.yaml"))
    clock = ReplayClock(base)

    def top(side: str, clock: ReplayClock | None) -> dict:
        [answer] = asyncio.run(replay(settings, manifest, side, [TOP], clock=clock))
        assert answer.status == 200, answer.body
        return answer.body

    legacy = top("legacy", clock)
    assert legacy["items"][0]["id"] == edge
    while utcnow() < base + timedelta(seconds=2):  # the wall clock passes the row's edge
        time.sleep(0.1)
    assert top("async", clock) == legacy
    # What the shared clock prevents: on the wall clock the row has left the window.
    on_the_wall = top("async", None)
    assert on_the_wall["total"] == legacy["total"] - 1
    assert edge not in [item["id"] for item in on_the_wall["items"]]


def test_a_case_never_leaves_its_second_and_late_stamps_still_move() -> None:
    """Background work can stamp a row seconds into a case (a polling worker's digest job):
    those stamps stay inside the case's second, in order, and differ from run to run as
    on the wall clock, so that the noise pass sees them (CI once compared two legacy runs
    that both read the capped 0.999 s with an async run that read 0.31 s)."""
    base = utcnow().replace(microsecond=0)
    clock = ReplayClock(base)
    clock.start_case(3)
    early = clock()
    assert base + timedelta(seconds=3) <= early < base + timedelta(seconds=3, milliseconds=100)
    time.sleep(1.05)
    late = clock()
    time.sleep(0.2)
    later = clock()
    case_end = base + timedelta(seconds=4)
    assert base + timedelta(seconds=3, milliseconds=999) < late < later < case_end
    clock.start_case(4)
    assert clock() >= case_end
