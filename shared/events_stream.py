"""`GET /api/events/stream` for both halves: where a stream starts, what it writes and when.

The wire format (Server-Sent Events), one message per created or changed event row:

    id: 2025-01-18T10:00:00.123456Z/42      <- the row's place in the change feed
    event: event
    data: {"id":42,"title":...}             <- the event item, as every endpoint shows it

plus `: heartbeat` comments. The stream opens with `retry:` and the starting `id:` (no
data, so no message is dispatched) so that an EventSource that reconnects before any
change still resumes exactly where it was, through its `Last-Event-ID` header.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from shared.database.queries.events import ChangeCursor
from shared.database.rows import utcnow
from shared.database.schema import MAX_ID
from shared.errors import invalid
from shared.settings import Settings

MEDIA_TYPE = "text/event-stream"
# No caching, and no buffering by a reverse proxy (nginx honours X-Accel-Buffering).
HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
LAST_EVENT_ID_HEADER = "Last-Event-ID"
HEARTBEAT = ": heartbeat\n\n"
RECONNECT_MS = 3000
BATCH = 100  # rows per poll; a full batch is followed by another poll at once
_CURSOR = re.compile(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6})Z/(\d{1,10})")


def cursor_text(cursor: ChangeCursor) -> str:
    stamp = cursor.updated_at.isoformat(timespec="microseconds")
    return f"{stamp}Z/{cursor.event_id}"


def parse_cursor(text: str) -> ChangeCursor:
    match = _CURSOR.fullmatch(text.strip())
    if match is not None and int(match[2]) <= MAX_ID:
        try:
            return ChangeCursor(datetime.fromisoformat(match[1]), int(match[2]))
        except ValueError:
            pass
    raise invalid(LAST_EVENT_ID_HEADER, "must be an id this stream sent")


def start_cursor(*, since: datetime | None, last_event_id: str | None) -> ChangeCursor:
    """`Last-Event-ID` (a reconnect) wins over `since`; with neither, changes from now on."""
    if last_event_id:
        return parse_cursor(last_event_id)
    return ChangeCursor(since if since is not None else utcnow(), 0)


def opening(cursor: ChangeCursor) -> str:
    return f"retry: {RECONNECT_MS}\nid: {cursor_text(cursor)}\n\n"


def event_message(cursor: ChangeCursor, item: dict[str, Any]) -> str:
    data = json.dumps(item, ensure_ascii=False, separators=(",", ":"))
    return f"id: {cursor_text(cursor)}\nevent: event\ndata: {data}\n\n"


class StreamSchedule:
    """When a stream polls, sends a heartbeat and ends, on a monotonic clock.

    Each half drives it with its own way of waiting: `time.sleep` on a legacy thread,
    `asyncio.sleep` on the loop.
    """

    def __init__(self, settings: Settings, *, now: float) -> None:
        self.poll_every = settings.sse_poll_seconds
        self.beat_every = settings.sse_heartbeat_seconds
        self.next_poll = now
        self.next_beat = now + self.beat_every
        self.ends_at = now + settings.sse_max_seconds

    def over(self, now: float) -> bool:
        return now >= self.ends_at

    def poll_due(self, now: float) -> bool:
        return now >= self.next_poll

    def polled(self, now: float, *, rows: int) -> None:
        self.next_poll = now if rows >= BATCH else now + self.poll_every

    def beat_due(self, now: float) -> bool:
        if now < self.next_beat:
            return False
        self.next_beat = now + self.beat_every
        return True

    def pause(self, now: float) -> float:
        """Seconds until the next thing to do."""
        return max(0.0, min(self.next_poll, self.next_beat, self.ends_at) - now)
