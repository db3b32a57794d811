"""Request rules for digests: generation, jobs, history."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, StrictInt, StrictStr
from pydantic.functional_validators import AfterValidator

from shared.contracts.common import (
    Limit,
    Offset,
    StrictUserId,
    UserId,
    WholeNumber,
    _known_category,
)
from shared.contracts.documented import KNOWN_CATEGORY
from shared.database.schema import MAX_DIGEST_ID
from shared.digest import MAX_DIGEST_CATEGORIES, DigestParams

# The option lists of shared.digest.DIGEST_OPTIONS, as types.
Style = Literal["brief", "analytical", "casual", "newsletter"]
Tone = Literal["neutral", "optimistic", "critical"]
Length = Literal["short", "medium", "long"]
Audience = Literal["general", "investors", "tech", "students"]


class DigestRequest(BaseModel):
    limit: Annotated[StrictInt, Field(ge=1, le=50), WholeNumber] = 10
    categories: (
        Annotated[
            list[Annotated[StrictStr, AfterValidator(_known_category), KNOWN_CATEGORY]],
            Field(max_length=MAX_DIGEST_CATEGORIES),
        ]
        | None
    ) = None
    # shared.digest.DIGEST_DEFAULTS, as values of the types above.
    style: Style = "brief"
    tone: Tone = "neutral"
    length: Length = "medium"
    audience: Audience = "general"
    user_id: StrictUserId | None = None

    def params(self) -> DigestParams:
        return DigestParams(
            limit=self.limit,
            categories=list(self.categories or []),
            style=self.style,
            tone=self.tone,
            length=self.length,
            audience=self.audience,
        )


class DigestHistoryQuery(BaseModel):
    user_id: UserId | None = None
    limit: Limit = 20
    offset: Offset = 0


class DigestPath(BaseModel):
    # Random ids below 2**53 (shared.database.queries.digests), not the row-id range.
    digest_id: Annotated[int, Field(ge=1, le=MAX_DIGEST_ID)]
