"""Request rules for users, and the id types of user-scoped resources."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field, StrictInt, StrictStr

from shared.contracts.common import RowId, WholeNumber
from shared.contracts.documented import matching

MAX_TELEGRAM_ID = 2**63 - 1  # users.telegram_id is a BIGINT

_LANGUAGE = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,4})?")  # fits users.language (10)


def _language_code(value: str) -> str:
    if not _LANGUAGE.fullmatch(value):
        raise ValueError("must be a language code such as en or pt-BR")
    return value


LanguageCode = Annotated[
    StrictStr, AfterValidator(_language_code), matching(f"^{_LANGUAGE.pattern}$")
]


class NewUser(BaseModel):
    telegram_id: Annotated[StrictInt, Field(ge=1, le=MAX_TELEGRAM_ID), WholeNumber]
    username: Annotated[StrictStr, Field(max_length=100)] | None = None
    language: LanguageCode | None = None


class UserPath(BaseModel):
    user_id: RowId
