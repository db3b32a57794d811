"""Building a digest: pick the news, have the writer write it, store it."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

from shared.ai import DigestWriter
from shared.database.engine import Database
from shared.database.queries.digests import store_digest
from shared.database.queries.news import latest_news
from shared.database.queries.subscriptions import list_subscriptions

DIGEST_OPTIONS: dict[str, tuple[str, ...]] = {
    "style": ("brief", "analytical", "casual", "newsletter"),
    "tone": ("neutral", "optimistic", "critical"),
    "length": ("short", "medium", "long"),
    "audience": ("general", "investors", "tech", "students"),
}
DIGEST_DEFAULTS = {"style": "brief", "tone": "neutral", "length": "medium", "audience": "general"}
DIGEST_LIMIT = (1, 50, 10)  # min, max, default
MAX_DIGEST_CATEGORIES = 30


@dataclass(frozen=True)
class DigestParams:
    limit: int = DIGEST_LIMIT[2]
    categories: list[str] = field(default_factory=list)
    style: str = DIGEST_DEFAULTS["style"]
    tone: str = DIGEST_DEFAULTS["tone"]
    length: str = DIGEST_DEFAULTS["length"]
    audience: str = DIGEST_DEFAULTS["audience"]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


async def generate_digest(
    *, db: Database, writer: DigestWriter, params: DigestParams, user_id: int | None
) -> dict[str, Any]:
    started = time.perf_counter()
    categories = list(params.categories)
    if not categories and user_id is not None:
        categories = [sub["category"] for sub in await list_subscriptions(db, user_id=user_id)]
    news = await latest_news(db, categories=categories or None, limit=params.limit)
    options = {key: getattr(params, key) for key in DIGEST_OPTIONS}
    text = await writer.write(news=news, options=options)
    return await store_digest(
        db,
        user_id=user_id,
        text=text,
        model=writer.model if writer.configured and news else "extractive",
        news_ids=[item["id"] for item in news],
        params=params.as_dict(),
        duration_ms=round((time.perf_counter() - started) * 1000),
    )
