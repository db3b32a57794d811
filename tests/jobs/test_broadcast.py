"""A broadcast is a job per message (shared/broadcast.py): 1,000 recipients on PostgreSQL
sent by two worker processes through a Telegram Bot API stand-in that answers 429 for a
while; each chat gets its message exactly once, at most 30 messages start in any second,
and `GET /admin/api/digest/broadcast/<id>` counts sent, failed and pending. Then the same
on both halves and both backends (the embedded worker, as `make run` has it), with a
chat Telegram does not know (400: failed with the reason, tried once)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from shared.broadcast import TELEGRAM_MESSAGES_PER_SECOND
from shared.database.engine import Database
from tests.conftest import ADMIN_TOKEN
from tests.jobs.test_workers import Deployment, postgres_url, wait_until
from tests.support.gateway_server import GatewayServer
from tests.support.servers import OpenAIStub, TelegramBotAPIStub

__all__ = ["postgres_url"]  # the fixture, shared with test_workers.py

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
BOT_TOKEN = "123:abc"
BULK = 1000
BULK_FIRST_CHAT = 900_000_001


@pytest.fixture
def telegram() -> Iterator[TelegramBotAPIStub]:
    with TelegramBotAPIStub() as stub:
        yield stub


@pytest.fixture
def ai_stub() -> Iterator[OpenAIStub]:
    with OpenAIStub() as stub:
        yield stub


def broadcast_state(http: httpx.Client, broadcast_id: int) -> dict[str, Any]:
    response = http.get(f"/admin/api/digest/broadcast/{broadcast_id}", headers=ADMIN)
    assert response.status_code == 200, response.text
    return response.json()["broadcast"]


def start(http: httpx.Client, category: str) -> dict[str, Any]:
    response = http.post(
        "/admin/api/digest/broadcast",
        json={"category": category, "dry_run": False},
        headers=ADMIN,
    )
    assert response.status_code == 200, response.text
    started = response.json()
    assert (started["sent"], started["failed"], started["pending"]) == (
        0,
        0,
        started["recipients"],
    )
    return started


def finish(http: httpx.Client, broadcast_id: int, *, seconds: float) -> dict[str, Any]:
    """The broadcast once no message is pending (asked twice a second)."""
    deadline = time.monotonic() + seconds
    while (state := broadcast_state(http, broadcast_id))["pending"]:
        assert time.monotonic() < deadline, f"still pending after {seconds} s: {state}"
        time.sleep(0.5)
    return state


def recipients(server: GatewayServer, category: str) -> set[int]:
    """Chat ids of the users who are not blocked and follow `category`, from the database."""

    async def read(db: Database) -> set[int]:
        rows = await db.fetch_all(
            sa.text(
                "SELECT DISTINCT u.telegram_id FROM users u JOIN subscriptions s"
                " ON s.user_id = u.id WHERE NOT u.is_blocked AND s.category = :category"
            ).bindparams(category=category)
        )
        return {row["telegram_id"] for row in rows}

    return server.run(read(server.gateway.bridge.resource.db))


def add_subscribers(server: GatewayServer, category: str, count: int) -> None:
    async def insert(db: Database) -> None:
        async with db.transaction() as tx:
            await tx.execute(
                sa.text(
                    "INSERT INTO users (telegram_id, username, language, is_blocked, created_at)"
                    " SELECT :first + g, 'bulk' || g, 'en', false, now()"
                    " FROM generate_series(0, :count - 1) AS g"
                ).bindparams(first=BULK_FIRST_CHAT, count=count)
            )
            await tx.execute(
                sa.text(
                    "INSERT INTO subscriptions (user_id, category, created_at)"
                    " SELECT id, :category, now() FROM users WHERE telegram_id >= :first"
                ).bindparams(category=category, first=BULK_FIRST_CHAT)
            )

    server.run(insert(server.gateway.bridge.resource.db))


def execute(server: GatewayServer, statement: str) -> None:
    """A write, committed (`Deployment.sql` only reads)."""

    async def write(db: Database) -> None:
        async with db.transaction() as tx:
            await tx.execute(sa.text(statement))

    server.run(write(server.gateway.bridge.resource.db))


def busiest_second(times: list[float]) -> int:
    """The most calls that arrived in one wall-clock second."""
    return max(Counter(int(t) for t in times).values())


def test_a_thousand_recipients_each_get_one_message_within_telegrams_rate(
    postgres_url: str, tmp_path: Path, telegram: TelegramBotAPIStub, ai_stub: OpenAIStub
) -> None:
    deployment = Deployment(
        postgres_url,
        ai_stub,
        tmp_path,
        telegram_bot_token=BOT_TOKEN,
        telegram_api_base_url=telegram.base_url,
        jobs_retry_base_seconds=0.5,
    )
    try:
        http = deployment.start()
        add_subscribers(deployment.server, "world", BULK)
        expected = recipients(deployment.server, "world")
        assert len(expected) > BULK  # the demo's world subscribers too
        workers = [deployment.worker(), deployment.worker()]
        time.sleep(3)  # both workers listening: the broadcast is shared between them
        assert [worker.poll() for worker in workers] == [None, None]

        telegram.busy_for(3, retry_after=1)  # flood control for the first 3 s
        started = start(http, "world")
        assert started["recipients"] == len(expected)
        state = finish(http, started["broadcast_id"], seconds=150)

        assert (state["recipients"], state["sent"], state["failed"]) == (
            len(expected),
            len(expected),
            0,
        )
        assert state["failures"] == {}
        delivered = Counter(message.chat_id for message in telegram.sent)
        assert set(delivered) == expected
        assert set(delivered.values()) == {1}  # each chat exactly once
        refused = len(telegram.requests) - len(telegram.sent)
        assert refused >= 1  # the 429s, each tried again later

        # At most 30 messages start in a second, across both workers (a message that
        # starts at a second's end may arrive in the next one: one per running job).
        times = telegram.call_times
        assert busiest_second(times) <= TELEGRAM_MESSAGES_PER_SECOND + 8
        took = max(times) - min(times)
        assert took >= len(telegram.requests) / TELEGRAM_MESSAGES_PER_SECOND - 2

        # A job run again for a message already sent sends nothing.
        queue = deployment.settings["jobs_queue"]
        execute(
            deployment.server,
            "SELECT procrastinate_defer_jobs_v1(ARRAY(SELECT ROW("
            f"'{queue}', 'broadcast.send', 0, NULL, NULL,"
            " jsonb_build_object('recipient_id', r.id), NULL)::procrastinate_job_to_defer_v1"
            f" FROM broadcast_recipients r WHERE r.broadcast_id = {started['broadcast_id']}"
            " ORDER BY r.id LIMIT 5))",
        )
        calls = len(telegram.requests)

        def rerun_done() -> bool:
            rows = deployment.sql(
                "SELECT count(*) AS n FROM procrastinate_jobs WHERE task_name = 'broadcast.send'"
                f" AND queue_name = '{queue}' AND status = 'succeeded'"
            )
            return rows[0]["n"] == len(expected) + 5

        wait_until(rerun_done, seconds=30, what="the jobs run again")
        assert len(telegram.requests) == calls
        assert broadcast_state(http, started["broadcast_id"])["sent"] == len(expected)
    finally:
        deployment.stop()


@pytest.fixture
def bot(
    start_gateway: Callable[..., tuple[GatewayServer, httpx.Client]],
    telegram: TelegramBotAPIStub,
) -> tuple[GatewayServer, httpx.Client]:
    return start_gateway(
        telegram_bot_token=BOT_TOKEN,
        telegram_api_base_url=telegram.base_url,
        jobs_poll_seconds=0.1,
        jobs_retry_base_seconds=0.2,
    )


def test_flood_control_is_waited_out_and_an_unknown_chat_fails_once(
    bot: tuple[GatewayServer, httpx.Client], telegram: TelegramBotAPIStub
) -> None:
    server, http = bot
    expected = recipients(server, "crypto")
    assert len(expected) >= 2
    unknown = min(expected)
    telegram.unknown_chat_ids = {unknown}
    telegram.busy_for(1.5, retry_after=1)
    started = start(http, "crypto")
    state = finish(http, started["broadcast_id"], seconds=60)

    assert (state["recipients"], state["sent"], state["failed"], state["pending"]) == (
        len(expected),
        len(expected) - 1,
        1,
        0,
    )
    assert state["failures"] == {"HTTP 400": 1}  # a permanent refusal, with its reason
    assert state["broadcast_id"] == started["broadcast_id"]
    assert state["text"] == started["text"] and state["category"] == "crypto"
    delivered = Counter(message.chat_id for message in telegram.sent)
    assert set(delivered) == expected - {unknown} and set(delivered.values()) == {1}
    asked = [request for request in telegram.requests if request["params"]["chat_id"] == unknown]
    # Tried again after each 429, and once only after its 400.
    assert [request["flood_controlled"] for request in asked][-2:] in ([True, False], [False])
    assert len(telegram.requests) > len(expected)  # 429s were tried again
