"""Building a digest: pick the news, have the writer write it, store it.

The options and params live in `shared.digest_params` (the digest queries read them back
without this module's I/O); they are imported from here too.
"""

from __future__ import annotations

import time
from typing import Any

from shared.ai import DigestWriter
from shared.database.engine import Database
from shared.database.queries.digests import store_digest
from shared.database.queries.news import latest_news
from shared.database.queries.subscriptions import list_subscriptions
from shared.digest_params import DIGEST_DEFAULTS as DIGEST_DEFAULTS
from shared.digest_params import DIGEST_LIMIT as DIGEST_LIMIT
from shared.digest_params import DIGEST_OPTIONS as DIGEST_OPTIONS
from shared.digest_params import MAX_DIGEST_CATEGORIES as MAX_DIGEST_CATEGORIES
from shared.digest_params import DigestParams as DigestParams


async def generate_digest(
    *,
    db: Database,
    writer: DigestWriter,
    params: DigestParams,
    user_id: int | None,
    job_id: str | None = None,
) -> dict[str, Any]:
    """Build and store a digest; for a digest job (`job_id`), also mark the job done, in
    the same transaction as the digest (see `store_digest`)."""
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
        job_id=job_id,
    )
