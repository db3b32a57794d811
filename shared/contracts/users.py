"""Request rules for users, and the id types of user-scoped resources."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field, StrictInt, StrictStr

# Integer primary keys are 32-bit on PostgreSQL: a larger id names no row, and would
# fail inside the driver (a 500) instead of answering 400.
MAX_ROW_ID = 2_147_483_647
MAX_TELEGRAM_ID = 2**63 - 1  # users.telegram_id is a BIGINT
RowId = Annotated[int, Field(ge=1, le=MAX_ROW_ID)]
StrictRowId = Annotated[StrictInt, Field(ge=1, le=MAX_ROW_ID)]

_LANGUAGE = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,4})?")  # fits users.language (10)


def _language_code(value: str) -> str:
    if not _LANGUAGE.fullmatch(value):
        raise ValueError("must be a language code such as en or pt-BR")
    return value


LanguageCode = Annotated[StrictStr, AfterValidator(_language_code)]


class NewUser(BaseModel):
    telegram_id: Annotated[StrictInt, Field(ge=1, le=MAX_TELEGRAM_ID)]
    username: Annotated[StrictStr, Field(max_length=100)] | None = None
    language: LanguageCode | None = None


class UserPath(BaseModel):
    user_id: RowId
