"""Request rules for digest generation."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, StrictInt, StrictStr
from pydantic.functional_validators import AfterValidator

from shared.contracts.common import StrictUserId, _known_category
from shared.digest import DIGEST_DEFAULTS, MAX_DIGEST_CATEGORIES, DigestParams


class DigestRequest(BaseModel):
    limit: Annotated[StrictInt, Field(ge=1, le=50)] = 10
    categories: (
        Annotated[
            list[Annotated[StrictStr, AfterValidator(_known_category)]],
            Field(max_length=MAX_DIGEST_CATEGORIES),
        ]
        | None
    ) = None
    style: Literal["brief", "analytical", "casual", "newsletter"] = DIGEST_DEFAULTS["style"]
    tone: Literal["neutral", "optimistic", "critical"] = DIGEST_DEFAULTS["tone"]
    length: Literal["short", "medium", "long"] = DIGEST_DEFAULTS["length"]
    audience: Literal["general", "investors", "tech", "students"] = DIGEST_DEFAULTS["audience"]
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
