"""Request rules for the news endpoints."""

from __future__ import annotations

from pydantic import BaseModel

from shared.contracts.common import CategoryName, Limit


class LatestNewsQuery(BaseModel):
    category: CategoryName | None = None
    limit: Limit = 20
