"""Digest broadcast: one digest, sent to subscribers through the Telegram Bot API.

The request (either half) chooses the recipients, writes the digest and records the
broadcast with a pending row per recipient, enqueueing one job per message in the same
transaction (`start_broadcast`). Each job (`deliver_message`, task `broadcast.send`)
sends its one message, whichever worker runs it:

- a message already sent or failed is never sent again (a retried or duplicated job
  finds its row finished and does nothing);
- every worker together starts at most `TELEGRAM_MESSAGES_PER_SECOND` messages in any
  second (a counter per second in the database, `claim_send_slot`);
- a busy Bot API (429 with `retry_after`, 5xx, a timeout, a dropped connection) is
  `UpstreamBusy`: the queue runs the job again later (shared/jobs/retry.py); any other
  refusal (400, 403, an answer that is not the Bot API's) fails the message for good,
  with the reason, as does a busy API on the last attempt.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

from shared.ai import DigestWriter
from shared.database.engine import Database
from shared.database.queries.admin import broadcast_recipients
from shared.database.queries.audit import record_audit
from shared.database.queries.broadcasts import (
    claim_send_slot,
    create_broadcast,
    finish_message,
    pending_message,
)
from shared.database.queries.news import latest_news
from shared.digest import DIGEST_OPTIONS, DigestParams, generate_digest
from shared.errors import ApiError
from shared.jobs.retry import UpstreamBusy, retry_after_seconds
from shared.settings import Settings

if TYPE_CHECKING:
    from shared.jobs.queue import JobQueue

log = logging.getLogger(__name__)

TELEGRAM_TEXT_LIMIT = 4096  # sendMessage refuses longer texts
# Telegram's documented limit for a bot's messages to different chats.
TELEGRAM_MESSAGES_PER_SECOND = 30
SEND_BROADCAST_MESSAGE = "broadcast.send"  # the task's name (shared/jobs/tasks.py): stored
NOT_CONFIGURED = "broadcast is not configured (TELEGRAM_BOT_TOKEN is unset)"
STALLED = "the message's worker stopped responding too many times"


def require_bot_token(settings: Settings, *, dry_run: bool) -> None:
    """A real broadcast needs the bot token; a dry run does not."""
    if not dry_run and not settings.telegram_bot_token:
        raise ApiError("unavailable", NOT_CONFIGURED)


def send_message_url(settings: Settings) -> str:
    """Contains the bot token: never log it."""
    base = settings.telegram_api_base_url.rstrip("/")
    return f"{base}/bot{settings.telegram_bot_token}/sendMessage"


def send_timeout(seconds: float) -> httpx.Timeout:
    """TELEGRAM_TIMEOUT_SECONDS for each message (connecting: at most 5 s of it)."""
    return httpx.Timeout(seconds, connect=min(seconds, 5.0))


def message_body(chat_id: int, text: str) -> dict[str, Any]:
    if len(text) > TELEGRAM_TEXT_LIMIT:
        text = text[: TELEGRAM_TEXT_LIMIT - 1] + "…"
    return {"chat_id": chat_id, "text": text, "disable_web_page_preview": True}


@dataclass(frozen=True)
class Refusal:
    """Why Telegram did not take a message, and whether asking again later may help."""

    reason: str
    busy: bool = False  # 429, 5xx, a timeout, a dropped connection
    retry_after: float | None = None  # seconds the Bot API asked us to wait


def _answer(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:  # garbage, an HTML page, invalid UTF-8
        return None


def _wait_asked(response: httpx.Response, answer: Any) -> float | None:
    """A 429's `parameters.retry_after` (the Bot API's way), else its `Retry-After`."""
    parameters = answer.get("parameters") if isinstance(answer, dict) else None
    seconds = parameters.get("retry_after") if isinstance(parameters, dict) else None
    if isinstance(seconds, int | float) and not isinstance(seconds, bool) and seconds >= 0:
        return float(seconds)
    return retry_after_seconds(response.headers.get("retry-after"))


def _refusal(response: httpx.Response) -> Refusal | None:
    """None when Telegram took the message, else why not, in words both halves use."""
    status = response.status_code
    if status == 429:
        return Refusal("HTTP 429", busy=True, retry_after=_wait_asked(response, _answer(response)))
    if status != 200:
        return Refusal(f"HTTP {status}", busy=status >= 500)
    answer = _answer(response)
    if answer is None:
        return Refusal("the answer is not JSON")
    if not isinstance(answer, dict) or "ok" not in answer:
        return Refusal("the answer is not a Bot API answer")
    if answer["ok"] is not True:
        return Refusal("the Bot API answered ok=false")
    return None


async def send_message(
    client: httpx.AsyncClient, *, url: str, chat_id: int, text: str, time_limit: float
) -> Refusal | None:
    """None when Telegram accepted the message, else why not: returned, never raised."""
    try:
        async with asyncio.timeout(time_limit):  # also a server that drips bytes
            response = await client.post(
                url, json=message_body(chat_id, text), timeout=send_timeout(time_limit)
            )
    except (TimeoutError, httpx.TimeoutException):
        refusal: Refusal | None = Refusal("timed out", busy=True)
    except httpx.HTTPError:
        refusal = Refusal("connection failed", busy=True)
    else:
        refusal = _refusal(response)
    if refusal is not None:
        log.warning("sendMessage to chat %s failed: %s", chat_id, refusal.reason)
    return refusal


@dataclass(frozen=True)
class BroadcastPlan:
    chat_ids: list[int]  # the recipients' Telegram ids, by user id
    digest_id: int | None
    text: str


async def plan_broadcast(
    *, db: Database, writer: DigestWriter, category: str | None, dry_run: bool
) -> BroadcastPlan:
    """Who gets it and what it says: the digest of `category` (of everything without one).

    The digest is stored only when it is really sent to someone; a dry run previews it.
    """
    recipients = await broadcast_recipients(db, category=category)
    params = DigestParams(categories=[category] if category else [])
    if not dry_run and recipients:
        digest = await generate_digest(db=db, writer=writer, params=params, user_id=None)
        digest_id, text = digest["id"], digest["text"]
    else:
        news = await latest_news(db, categories=params.categories or None, limit=params.limit)
        options = {key: getattr(params, key) for key in DIGEST_OPTIONS}
        digest_id, text = None, await writer.write(news=news, options=options)
    return BroadcastPlan([user["telegram_id"] for user in recipients], digest_id, text)


def broadcast_result(plan: BroadcastPlan, *, broadcast_id: int | None) -> dict[str, Any]:
    """The answer to the POST: every message is still pending (a dry run has none)."""
    pending = 0 if broadcast_id is None else len(plan.chat_ids)
    return {
        "recipients": len(plan.chat_ids),
        "sent": 0,
        "failed": 0,
        "pending": pending,
        "failures": {},  # reason -> how many messages (see GET)
        "dry_run": broadcast_id is None,
        "broadcast_id": broadcast_id,
        "digest_id": plan.digest_id,
        "text": plan.text,
    }


async def start_broadcast(
    *, db: Database, jobs: JobQueue, plan: BroadcastPlan, actor: str, category: str | None
) -> dict[str, Any]:
    """The broadcast, its recipients, a job per message and the audit row: one commit."""
    async with jobs.transaction(db) as jtx:
        broadcast_id, recipient_ids = await create_broadcast(
            jtx.tx,
            actor=actor,
            category=category,
            digest_id=plan.digest_id,
            text=plan.text,
            chat_ids=plan.chat_ids,
        )
        await jtx.defer_many(
            SEND_BROADCAST_MESSAGE, [{"recipient_id": rid} for rid in recipient_ids]
        )
        await record_audit(
            jtx.tx,
            actor=actor,
            action="digest.broadcast",
            target=f"digests:{plan.digest_id}" if plan.digest_id else None,
            details={
                "category": category,
                "broadcast_id": broadcast_id,
                "recipients": len(recipient_ids),
            },
        )
    return broadcast_result(plan, broadcast_id=broadcast_id)


async def wait_for_send_slot(db: Database, *, per_second: int) -> None:
    """Until this worker may start a message: the first second from now with room."""
    second = int(time.time())
    while not await claim_send_slot(db, second=second, per_second=per_second):
        second += 1
    if (wait := second - time.time()) > 0:
        await asyncio.sleep(wait)


async def deliver_message(
    *,
    db: Database,
    http: httpx.AsyncClient,
    settings: Settings,
    recipient_id: int,
    last_attempt: bool,
) -> None:
    """The job of one message: pending -> sent | failed, or `UpstreamBusy` to run later."""
    message = await pending_message(db, recipient_id=recipient_id)
    if message is None:  # sent or failed already (a retried job), or its broadcast is gone
        return
    if not settings.telegram_bot_token:  # this worker was started without the token
        await finish_message(db, recipient_id=recipient_id, status="failed", error=NOT_CONFIGURED)
        return
    await wait_for_send_slot(db, per_second=TELEGRAM_MESSAGES_PER_SECOND)
    refusal = await send_message(
        http,
        url=send_message_url(settings),
        chat_id=message["chat_id"],
        text=message["text"],
        time_limit=settings.telegram_timeout_seconds,
    )
    if refusal is None:
        await finish_message(db, recipient_id=recipient_id, status="sent")
    elif refusal.busy and not last_attempt:
        raise UpstreamBusy(refusal.reason, retry_after=refusal.retry_after)
    else:
        await finish_message(db, recipient_id=recipient_id, status="failed", error=refusal.reason)
