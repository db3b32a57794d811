"""Request rules for bookmarks."""

from __future__ import annotations

from pydantic import BaseModel

from shared.contracts.common import Limit, Offset, RowId, StrictRowId, StrictUserId, UserId


class BookmarksQuery(BaseModel):
    user_id: UserId | None = None
    limit: Limit = 20
    offset: Offset = 0


class NewBookmark(BaseModel):
    user_id: StrictUserId | None = None
    news_id: StrictRowId


class BookmarkPath(BaseModel):
    news_id: RowId
