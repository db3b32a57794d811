from __future__ import annotations

import asyncio
from typing import Any

import httpx

from shared import metrics as figures
from shared.database.queries.metrics import content_totals, database_health
from shared.runtime import Runtime


async def ai_check(*, rt: Runtime) -> dict[str, Any]:
    check = figures.ai_models_request(rt.settings)
    if check is None:
        return figures.ai_figures(configured=False, status=None)
    url, headers = check
    try:
        response = await rt.http.get(
            url, headers=headers, timeout=figures.AI_CHECK_TIMEOUT, follow_redirects=True
        )
    except httpx.HTTPError:
        return figures.ai_figures(configured=True, status=None)
    return figures.ai_figures(configured=True, status=response.status_code)


async def deep_health(*, rt: Runtime) -> dict[str, Any]:
    """The database and the AI are checked at the same time."""
    database, ai = await asyncio.gather(database_health(rt.db), ai_check(rt=rt))
    return figures.health_body(database, ai)


async def content(*, rt: Runtime) -> dict[str, Any]:
    return await content_totals(rt.db)
