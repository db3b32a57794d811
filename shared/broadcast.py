"""Digest broadcast: one digest, sent to subscribers through the Telegram Bot API.

Choosing the recipients, writing the digest and recording the outcome are shared; the
sending is not: the legacy half posts one message after another with a sync
`httpx.Client` (`send_message_sync`), the async half concurrently, up to
`broadcast_concurrency` at a time, with the runtime's client (`send_message`).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from dataclasses import dataclass
from typing import Any

import httpx

from shared.ai import DigestWriter
from shared.database.engine import Database
from shared.database.queries.admin import broadcast_recipients
from shared.database.queries.audit import record_audit
from shared.database.queries.news import latest_news
from shared.digest import DIGEST_OPTIONS, DigestParams, generate_digest
from shared.errors import ApiError
from shared.settings import Settings

log = logging.getLogger(__name__)

TELEGRAM_TEXT_LIMIT = 4096  # sendMessage refuses longer texts


def require_bot_token(settings: Settings, *, dry_run: bool) -> None:
    """A real broadcast needs the bot token; a dry run does not."""
    if not dry_run and not settings.telegram_bot_token:
        raise ApiError("unavailable", "broadcast is not configured (TELEGRAM_BOT_TOKEN is unset)")


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


def _refusal(response: httpx.Response) -> str | None:
    """Why Telegram did not take the message (None: it did), in words both halves use."""
    if response.status_code != 200:
        return f"HTTP {response.status_code}"
    try:
        answer = response.json()
    except ValueError:  # garbage, an HTML page, invalid UTF-8
        return "the answer is not JSON"
    if not isinstance(answer, dict) or "ok" not in answer:
        return "the answer is not a Bot API answer"
    if answer["ok"] is not True:
        return "the Bot API answered ok=false"
    return None


def _transport_failure(exc: httpx.HTTPError) -> str:
    return "timed out" if isinstance(exc, httpx.TimeoutException) else "connection failed"


def _logged(reason: str | None, chat_id: int) -> str | None:
    if reason is not None:
        log.warning("sendMessage to chat %s failed: %s", chat_id, reason)
    return reason


def send_message_sync(
    client: httpx.Client, *, url: str, chat_id: int, text: str, time_limit: float
) -> str | None:
    """None when Telegram accepted the message, else why not: counted, never raised."""
    try:
        response = client.post(
            url, json=message_body(chat_id, text), timeout=send_timeout(time_limit)
        )
    except httpx.HTTPError as exc:
        return _logged(_transport_failure(exc), chat_id)
    return _logged(_refusal(response), chat_id)


async def send_message(
    client: httpx.AsyncClient, *, url: str, chat_id: int, text: str, time_limit: float
) -> str | None:
    """None when Telegram accepted the message, else why not: counted, never raised."""
    try:
        async with asyncio.timeout(time_limit):  # also a server that drips bytes
            response = await client.post(
                url, json=message_body(chat_id, text), timeout=send_timeout(time_limit)
            )
    except TimeoutError:
        return _logged("timed out", chat_id)
    except httpx.HTTPError as exc:
        return _logged(_transport_failure(exc), chat_id)
    return _logged(_refusal(response), chat_id)


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


def broadcast_result(plan: BroadcastPlan, *, failures: list[str | None], dry_run: bool) -> dict:
    """`failures`: one per message sent, None for a delivered one, else the reason."""
    reasons = Counter(reason for reason in failures if reason is not None)
    return {
        "recipients": len(plan.chat_ids),
        "sent": len(failures) - reasons.total(),
        "failed": reasons.total(),
        "failures": dict(sorted(reasons.items())),  # reason -> how many messages
        "dry_run": dry_run,
        "digest_id": plan.digest_id,
        "text": plan.text,
    }


async def record_broadcast(
    db: Database, *, actor: str, category: str | None, result: dict[str, Any]
) -> None:
    """The audit row of a real broadcast (a dry run changes nothing and is not logged)."""
    async with db.transaction() as tx:
        await record_audit(
            tx,
            actor=actor,
            action="digest.broadcast",
            target=f"digests:{result['digest_id']}" if result["digest_id"] else None,
            details={
                "category": category,
                **{key: result[key] for key in ("recipients", "sent", "failed")},
            },
        )
