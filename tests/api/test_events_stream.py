"""GET /api/events/stream: Server-Sent Events through the gateway, read with httpx.

Each stream test starts a gateway of its own with short timings (poll 0.1 s, heartbeat
0.3 s), so a stream ends by itself within a second or three.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import pytest

from shared.database.demo import demo_rows
from shared.database.rows import iso
from tests.conftest import ADMIN_TOKEN, ANCHOR, http_client
from tests.support.gateway_server import GatewayServer

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
DEMO_EVENTS = len(demo_rows(ANCHOR)["events"])
FAST = {"sse_poll_seconds": 0.1, "sse_heartbeat_seconds": 0.3}
STREAM_ID = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z/\d+")


@dataclass
class Block:
    """One blank-line-terminated block of the stream: its fields and its comments."""

    fields: dict[str, str] = field(default_factory=dict)
    comments: list[str] = field(default_factory=list)

    @property
    def is_event(self) -> bool:
        return "data" in self.fields

    @property
    def item(self) -> dict[str, Any]:
        return json.loads(self.fields["data"])


def blocks(response: httpx.Response) -> Iterator[Block]:
    block = Block()
    for line in response.iter_lines():
        if line == "":
            yield block
            block = Block()
        elif line.startswith(":"):
            block.comments.append(line)
        else:
            name, _, value = line.partition(":")
            block.fields[name] = value.removeprefix(" ")
    assert block == Block(), "the stream ended in the middle of a message"


def stream_events(http: httpx.Client, **kwargs: Any) -> list[Block]:
    with http.stream("GET", "/api/events/stream", **kwargs) as response:
        assert response.status_code == 200
        return [block for block in blocks(response) if block.is_event]


def test_changes_arrive_between_heartbeats_and_the_stream_ends_by_itself(
    start_gateway: Any,
) -> None:
    _, http = start_gateway(**FAST, sse_max_seconds=3)
    started = time.monotonic()
    with http.stream("GET", "/api/events/stream") as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
        assert response.headers["cache-control"] == "no-cache"
        received = blocks(response)
        opening = next(received)
        assert opening.fields["retry"] == "3000"
        assert STREAM_ID.fullmatch(opening.fields["id"])
        assert not opening.is_event  # demo rows changed before the stream opened are not sent

        updated = http.put("/api/events/3", json={"title": "Moved"}, headers=ADMIN).json()
        new = {"title": "Launch", "category": "tech", "starts_at": "2030-06-01T10:00:00Z"}
        created = http.post("/api/events", json=new, headers=ADMIN).json()
        rest = list(received)  # until the server ends the stream
    elapsed = time.monotonic() - started

    messages = [block for block in rest if block.is_event]
    assert [message.item for message in messages] == [updated, created]
    for message in messages:
        assert message.fields["event"] == "event"
        assert STREAM_ID.fullmatch(message.fields["id"])
        assert message.comments == []
    assert messages[0].fields["id"] < messages[1].fields["id"]
    heartbeats = [block for block in rest if block.comments == [": heartbeat"]]
    assert len(heartbeats) >= 3
    assert all(block.fields == {} for block in heartbeats)
    assert 2.9 <= elapsed < 10


def test_since_replays_changes_and_last_event_id_resumes_after_them(
    start_gateway: Any,
) -> None:
    _, http = start_gateway(**FAST, sse_max_seconds=1)
    # Every demo row was last changed ten days before the anchor, in id order.
    since = {"since": iso(ANCHOR - timedelta(days=11))}
    replayed = stream_events(http, params=since)
    assert [message.item["id"] for message in replayed] == list(range(1, DEMO_EVENTS + 1))
    assert replayed[0].item == http.get("/api/events/1").json()

    # A reconnect sends the last id it saw, which wins over `since` in the URL.
    resume = {"Last-Event-ID": replayed[9].fields["id"]}
    resumed = stream_events(http, params=since, headers=resume)
    assert [message.item["id"] for message in resumed] == list(range(11, DEMO_EVENTS + 1))

    assert stream_events(http, params={"since": "2100-01-01T00:00:00Z"}) == []


def test_a_reconnect_before_any_change_misses_nothing(start_gateway: Any) -> None:
    _, http = start_gateway(**FAST, sse_max_seconds=0.5)
    with http.stream("GET", "/api/events/stream") as response:
        opening_id = next(blocks(response)).fields["id"]
    # Changed while no stream was open: the opening id is where the reconnect resumes.
    http.put("/api/events/5", json={"importance": 0.99}, headers=ADMIN)
    resumed = stream_events(http, headers={"Last-Event-ID": opening_id})
    assert [(m.item["id"], m.item["importance"]) for m in resumed] == [(5, 0.99)]


@pytest.mark.parametrize(
    ("params", "headers", "field", "message"),
    [
        ({"since": "yesterday"}, {}, "since", "since must be an ISO-8601 timestamp"),
        (
            {},
            {"Last-Event-ID": "42"},
            "Last-Event-ID",
            "Last-Event-ID must be an id this stream sent",
        ),
        (
            {},
            {"Last-Event-ID": "2030-02-30T00:00:00.000000Z/1"},
            "Last-Event-ID",
            "Last-Event-ID must be an id this stream sent",
        ),
        (
            {"since": "2030-13-01"},
            {"Last-Event-ID": "nonsense"},
            "since",
            "since must be an ISO-8601 timestamp",
        ),
    ],
)
def test_a_bad_start_is_a_400_before_streaming(
    gateway: GatewayServer, half: str, params: dict, headers: dict, field: str, message: str
) -> None:
    # Answered before any data is read, so the shared gateway's data needs no reset.
    with http_client(gateway, half) as http:
        response = http.get("/api/events/stream", params=params, headers=headers)
        assert response.status_code == 400
        assert response.headers["content-type"] == "application/json"
        assert response.json() == {
            "error": {"code": "invalid_parameter", "message": message, "field": field}
        }
