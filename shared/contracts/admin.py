"""Request rules for the admin endpoints (`/admin/api/...`)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictStr,
    StringConstraints,
    ValidationInfo,
    field_validator,
)
from pydantic.functional_validators import AfterValidator

from shared.categories import CATEGORY_TREE
from shared.contracts.common import (
    PageQuery,
    RowId,
    StoredTimestamp,
    StrictRowId,
    _top_level_category,
)
from shared.contracts.documented import HTTP_URL, NOT_BLANK, TOP_CATEGORY


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http or https URL")
    return value


def _iso_text(value: Any) -> Any:
    # The lax datetime type would also take a number as a Unix time; the API speaks ISO only.
    if not isinstance(value, str):
        raise ValueError("must be an ISO-8601 timestamp")
    return value


def _text(max_length: int, *, min_length: int = 1) -> Any:
    return StringConstraints(
        strict=True, strip_whitespace=True, min_length=min_length, max_length=max_length
    )


SourceName = Annotated[str, _text(120), NOT_BLANK]
SourceUrl = Annotated[str, _text(500), AfterValidator(_http_url), HTTP_URL]
NewsLink = Annotated[str, _text(1000), AfterValidator(_http_url), HTTP_URL]
Category = Annotated[StrictStr, AfterValidator(_top_level_category), TOP_CATEGORY]
Importance = Annotated[float, Field(strict=True, ge=0, le=1)]
IsoTimestamp = Annotated[StoredTimestamp, BeforeValidator(_iso_text)]


class UserPath(BaseModel):
    user_id: RowId


class SourcePath(BaseModel):
    source_id: RowId


class NewsPath(BaseModel):
    news_id: RowId


class UserSearchQuery(PageQuery):
    """`q` matches part of the username, case-insensitively."""

    q: Annotated[str, Field(max_length=100)] | None = None


class AuditQuery(PageQuery):
    pass


class BlockUser(BaseModel):
    blocked: StrictBool
    reason: Annotated[str, _text(200), NOT_BLANK] | None = None


class SourceCreate(BaseModel):
    name: SourceName
    url: SourceUrl
    category: Category
    enabled: StrictBool = True


class SourceUpdate(BaseModel):
    """A partial update: a field left out (or null) keeps its value."""

    name: SourceName | None = None
    url: SourceUrl | None = None
    category: Category | None = None
    enabled: StrictBool | None = None

    def changes(self) -> dict[str, Any]:
        return {key: value for key, value in self.model_dump().items() if value is not None}


def _subcategory_follows_category(schema: dict[str, Any]) -> None:
    schema["anyOf"] = [
        {
            "properties": {
                "category": {"enum": [category]},
                "subcategory": {"anyOf": [{"enum": list(subs)}, {"type": "null"}]},
            }
        }
        for category, subs in CATEGORY_TREE.items()
    ]


class NewsCreate(BaseModel):
    model_config = ConfigDict(json_schema_extra=_subcategory_follows_category)

    title: Annotated[str, _text(500), NOT_BLANK]
    link: NewsLink
    summary: Annotated[str, _text(5000, min_length=0)] = ""
    category: Category
    subcategory: StrictStr | None = None
    source_id: StrictRowId | None = None
    importance: Importance = 0.5
    published_at: IsoTimestamp | None = None

    @field_validator("subcategory")
    @classmethod
    def _subcategory_of_category(cls, value: str | None, info: ValidationInfo) -> str | None:
        category = info.data.get("category")
        if value is None or category is None:  # a bad category is reported on its own
            return value
        if value not in CATEGORY_TREE[category]:
            raise ValueError(f"must be one of: {', '.join(CATEGORY_TREE[category])}")
        return value


class BroadcastPath(BaseModel):
    broadcast_id: RowId


class BroadcastRequest(BaseModel):
    """`dry_run` is required: sending to every subscriber must never be a default."""

    category: Category | None = None
    dry_run: StrictBool
