"""Request rules for notifications."""

from __future__ import annotations

from pydantic import BaseModel

from shared.contracts.common import Limit, Offset, RowId, UserId


class NotificationsQuery(BaseModel):
    user_id: UserId | None = None
    unread_only: bool = False
    limit: Limit = 20
    offset: Offset = 0


class NotificationPath(BaseModel):
    notification_id: RowId
