"""RSS/Atom ingest: fetch a source's feed, parse it, store the new items.

Parsing and storing are shared by both halves; fetching is not: the legacy half streams
with a sync `httpx.Client` (`pull_feed_sync`), the async half with the runtime's
`httpx.AsyncClient` (`pull_feed`). Every failure of one feed becomes a fixed message
(`FeedError`), the same whichever client met it, and never an exception for the caller.
"""

from __future__ import annotations

import asyncio
import calendar
import contextlib
import html
import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import feedparser
import httpx

from shared.categories import CATEGORY_TREE
from shared.contracts.common import in_stored_years
from shared.database.engine import Database, DatabaseUnavailable
from shared.database.queries.admin import record_feed_fetch
from shared.database.rows import utcnow
from shared.settings import Settings

log = logging.getLogger(__name__)

FEED_HEADERS = {
    "Accept": "application/rss+xml, application/atom+xml, application/xml;q=0.9, "
    "text/xml;q=0.9, */*;q=0.1",
    "User-Agent": "newsdigest-ingest/0.1",
}
# Column sizes of `news` (title 500, link 1000); summaries are kept readable, not whole.
MAX_TITLE, MAX_LINK, MAX_SUMMARY = 500, 1000, 2000
DEFAULT_IMPORTANCE = 0.5

# Cheap subcategory guesses: whole words in the title (then the summary).
SUBCATEGORY_KEYWORDS: dict[str, tuple[str, ...]] = {
    "bitcoin": ("bitcoin", "btc"),
    "ethereum": ("ethereum", "ether", "eth"),
    "defi": ("defi", "decentralized finance", "dex", "stablecoin", "stablecoins"),
    "nft": ("nft", "nfts"),
    "regulation": ("regulation", "regulator", "regulators", "sec", "mica"),
    "football": ("football", "soccer", "premier league", "champions league", "uefa", "fifa"),
    "basketball": ("basketball", "nba", "euroleague"),
    "tennis": ("tennis", "atp", "wta", "wimbledon"),
    "hockey": ("hockey", "nhl", "khl"),
    "esports": ("esports", "e-sports", "dota", "league of legends", "counter-strike"),
    "stocks": ("stock", "stocks", "shares", "equities", "s&p 500", "nasdaq"),
    "forex": ("forex", "currency", "currencies", "dollar", "euro", "yen"),
    "commodities": ("commodity", "commodities", "oil", "gold", "copper"),
    "bonds": ("bond", "bonds", "treasury", "treasuries", "yields"),
    "macro": ("inflation", "gdp", "central bank", "interest rates", "recession"),
    "ai": ("ai", "artificial intelligence", "machine learning", "llm"),
    "startups": ("startup", "startups", "funding round", "venture capital"),
    "gadgets": ("gadget", "gadgets", "smartphone", "smartphones", "wearable"),
    "software": ("software", "open source", "open-source", "linux", "python"),
    "security": ("security", "ransomware", "breach", "vulnerability", "malware"),
    "politics": ("election", "elections", "parliament", "politics"),
    "economy": ("economy", "economic", "labour", "labor"),
    "conflicts": ("war", "conflict", "ceasefire", "military"),
    "climate": ("climate", "emissions", "heatwave", "renewable"),
    "society": ("society", "housing", "education", "migration"),
}
_KEYWORDS = {
    category: [
        (sub, re.compile(r"\b(?:" + "|".join(map(re.escape, SUBCATEGORY_KEYWORDS[sub])) + r")\b"))
        for sub in subs
    ]
    for category, subs in CATEGORY_TREE.items()
}
_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")


class FeedError(Exception):
    """Why one feed could not be read, in words both halves use."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def timed_out(seconds: float) -> FeedError:
    return FeedError(f"timed out after {seconds:g} s")


def too_large(max_bytes: int) -> FeedError:
    return FeedError(f"feed larger than {max_bytes} bytes")


def transport_error(exc: httpx.HTTPError, *, time_limit: float) -> FeedError:
    """The same words for the same failure, from the sync and the async client alike."""
    if isinstance(exc, httpx.TimeoutException):
        return timed_out(time_limit)
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return FeedError("invalid feed URL")
    if isinstance(exc, httpx.TooManyRedirects):
        return FeedError("too many redirects")
    return FeedError("connection failed")


def _refuse_failure_status(response: httpx.Response) -> None:
    if not response.is_success:
        raise FeedError(f"HTTP {response.status_code}")


# --- fetching: one per half ---------------------------------------------------------------


def fetch_feed_sync(client: httpx.Client, url: str, *, time_limit: float, max_bytes: int) -> bytes:
    """The feed's body, streamed and cut off at `max_bytes`, within `time_limit` seconds."""
    deadline = time.monotonic() + time_limit
    try:
        with client.stream(
            "GET", url, headers=FEED_HEADERS, timeout=httpx.Timeout(time_limit)
        ) as response:
            _refuse_failure_status(response)
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > max_bytes:
                    raise too_large(max_bytes)
                if time.monotonic() > deadline:  # a server dripping bytes forever
                    raise timed_out(time_limit)
            return bytes(body)
    except httpx.HTTPError as exc:
        raise transport_error(exc, time_limit=time_limit) from None


async def fetch_feed(
    client: httpx.AsyncClient, url: str, *, time_limit: float, max_bytes: int
) -> bytes:
    """The feed's body, streamed and cut off at `max_bytes`, within `time_limit` seconds."""
    try:
        async with (
            asyncio.timeout(time_limit),
            client.stream(
                "GET", url, headers=FEED_HEADERS, timeout=httpx.Timeout(time_limit)
            ) as response,
        ):
            _refuse_failure_status(response)
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > max_bytes:
                    raise too_large(max_bytes)
            return bytes(body)
    except TimeoutError:
        raise timed_out(time_limit) from None
    except httpx.HTTPError as exc:
        raise transport_error(exc, time_limit=time_limit) from None


# --- parsing ------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeedItem:
    title: str
    link: str
    summary: str
    published_at: datetime
    subcategory: str | None

    def row(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "link": self.link,
            "summary": self.summary,
            "published_at": self.published_at,
            "subcategory": self.subcategory,
            "importance": DEFAULT_IMPORTANCE,
        }


def plain_text(value: Any, limit: int) -> str:
    """Feed HTML as one line of text (PostgreSQL refuses NUL characters in text)."""
    text = html.unescape(_TAG.sub(" ", str(value or ""))).replace("\x00", "")
    text = _SPACE.sub(" ", text).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def infer_subcategory(category: str, title: str, summary: str) -> str | None:
    for text in (title.lower(), summary.lower()):
        for sub, pattern in _KEYWORDS.get(category, ()):
            if pattern.search(text):
                return sub
    return None


def _published(entry: Any, now: datetime) -> datetime:
    stamp = entry.get("published_parsed") or entry.get("updated_parsed")
    if not stamp:
        return now
    try:
        published = datetime.fromtimestamp(calendar.timegm(stamp), UTC).replace(tzinfo=None)
    except (OverflowError, ValueError, OSError):
        return now
    if not in_stored_years(published):  # a placeholder like 0001-01-01: the fetch time
        return now
    return min(published, now)  # a future date would pin the item to the top of every list


def _link(entry: Any) -> str:
    link = str(entry.get("link") or "").strip()
    if not link.startswith(("http://", "https://")):
        guid = str(entry.get("id") or "").strip()
        link = guid if guid.startswith(("http://", "https://")) else ""
    return link if len(link) <= MAX_LINK else ""


def parse_feed(body: bytes, *, category: str, now: datetime | None = None) -> list[FeedItem]:
    """The usable items (a title and an http(s) link, each link once) of an RSS 2.0 or Atom
    document.

    Raises `FeedError("not a feed")` for anything that is not recognisably a feed.
    Mildly broken feeds (feedparser's "bozo") still give the items it could read.
    """
    now = now or utcnow()
    try:
        parsed = feedparser.parse(body)  # bytes, never a URL: feedparser would fetch it
    except Exception:  # feedparser on hostile input: this feed fails, the others go on
        log.warning("feedparser failed", exc_info=True)
        raise FeedError("not a feed") from None
    if not parsed.get("version"):
        raise FeedError("not a feed")
    items = []
    links: set[str] = set()
    for entry in parsed.entries:
        title = plain_text(entry.get("title"), MAX_TITLE)
        link = _link(entry)
        if not title or not link or link in links:  # a repeated link is one item
            continue
        links.add(link)
        summary = plain_text(entry.get("summary"), MAX_SUMMARY)
        items.append(
            FeedItem(
                title=title,
                link=link,
                summary=summary,
                published_at=_published(entry, now),
                subcategory=infer_subcategory(category, title, summary),
            )
        )
    if parsed.get("bozo") and not items:
        raise FeedError("not a feed")
    return items


# --- fetch + parse, per half ----------------------------------------------------------------


@dataclass(frozen=True)
class FeedPull:
    """What one fetch of a source's feed gave: items, or the reason there are none."""

    source: dict[str, Any]
    items: list[FeedItem]
    error: str | None


def pull_feed_sync(client: httpx.Client, source: dict[str, Any], settings: Settings) -> FeedPull:
    try:
        body = fetch_feed_sync(
            client,
            source["url"],
            time_limit=settings.feed_timeout_seconds,
            max_bytes=settings.feed_max_bytes,
        )
        return FeedPull(source, parse_feed(body, category=source["category"]), None)
    except FeedError as exc:
        return FeedPull(source, [], exc.message)


async def pull_feed(
    client: httpx.AsyncClient,
    source: dict[str, Any],
    settings: Settings,
    *,
    limit: asyncio.Semaphore | None = None,
) -> FeedPull:
    """Fetch and parse one source's feed; `limit` (the ingest's INGEST_CONCURRENCY) is held
    while fetching only: it bounds connections to upstreams, and the next fetch starts
    while this feed is parsed."""
    try:
        async with limit or contextlib.nullcontext():
            body = await fetch_feed(
                client,
                source["url"],
                time_limit=settings.feed_timeout_seconds,
                max_bytes=settings.feed_max_bytes,
            )
        # feedparser is CPU-bound (seconds for a big feed): off the event loop.
        items = await asyncio.to_thread(parse_feed, body, category=source["category"])
        return FeedPull(source, items, None)
    except FeedError as exc:
        return FeedPull(source, [], exc.message)


def sync_feed_client() -> httpx.Client:
    """The legacy half's client for one request's feeds (timeouts are set per fetch)."""
    return httpx.Client(follow_redirects=True)


# --- storing ------------------------------------------------------------------------------


async def store_pull(
    db: Database, *, pull: FeedPull, actor: str, trigger: str, run: str | None = None
) -> dict[str, Any]:
    """Store the new items and the outcome on the source; the per-source result (`run`:
    the ingest run this fetch belongs to, see shared/ingest.py)."""
    error = pull.error
    try:
        inserted = await record_feed_fetch(
            db,
            actor=actor,
            source_id=pull.source["id"],
            items=[item.row() for item in pull.items],
            error=error,
            fetched_at=utcnow(),
            trigger=trigger,
            run=run,
        )
    except DatabaseUnavailable:
        raise
    except Exception:  # one source's bad data must not fail an ingest of all of them
        log.exception("storing the items of source %s failed", pull.source["id"])
        inserted, error = 0, "could not store the items"
    if inserted is None:
        inserted, error = 0, "the source was deleted during the fetch"
    return {
        "source_id": pull.source["id"],
        "name": pull.source["name"],
        "fetched": len(pull.items),
        "inserted": inserted,
        "error": error,
    }


def ingest_summary(results: Sequence[dict[str, Any]]) -> dict[str, Any]:
    return {
        "sources": list(results),
        "fetched": sum(result["fetched"] for result in results),
        "inserted": sum(result["inserted"] for result in results),
        "failed": sum(1 for result in results if result["error"]),
    }


def fetch_result(result: dict[str, Any]) -> dict[str, Any]:
    """`POST /admin/api/sources/<id>/fetch` answers the counts and the error only."""
    return {key: result[key] for key in ("fetched", "inserted", "error")}
