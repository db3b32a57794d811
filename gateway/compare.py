"""Comparing two responses under a route's rules (ignored JSON paths, shape only)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from gateway.manifest import CompareRules, RouteEntry

MISSING = object()


@dataclass(frozen=True)
class Difference:
    path: str  # dotted, list items by index: `news.3.title`; `status`, `content_type`
    legacy: Any
    modern: Any

    def describe(self) -> str:
        def show(value: Any) -> str:
            return "(absent)" if value is MISSING else repr(value)

        return f"{self.path}: legacy {show(self.legacy)} != async {show(self.modern)}"


def _shape(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_shape(item) for item in value[:1]]
    if isinstance(value, bool) or value is None:
        return type(value).__name__
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def json_differences(legacy: Any, modern: Any, path: str = "") -> list[Difference]:
    if isinstance(legacy, dict) and isinstance(modern, dict):
        found = []
        for key in list(legacy) + [key for key in modern if key not in legacy]:
            child = f"{path}.{key}" if path else str(key)
            found += json_differences(legacy.get(key, MISSING), modern.get(key, MISSING), child)
        return found
    if isinstance(legacy, list) and isinstance(modern, list):
        if len(legacy) != len(modern):
            return [Difference(f"{path}.length" if path else "length", len(legacy), len(modern))]
        found = []
        for index, (left, right) in enumerate(zip(legacy, modern, strict=True)):
            found += json_differences(left, right, f"{path}.{index}" if path else str(index))
        return found
    if legacy is modern or (type(legacy) is type(modern) and legacy == modern):
        return []
    return [Difference(path, legacy, modern)]


def ignored(path: str, patterns: tuple[str, ...]) -> bool:
    """`*` matches one path segment: `news.*.published_at`."""
    parts = path.split(".")
    for pattern in patterns:
        wanted = pattern.split(".")
        if len(wanted) <= len(parts) and all(
            fnmatchcase(part, want) for part, want in zip(parts, wanted, strict=False)
        ):
            return True
    return False


def compare_bodies(legacy: Any, modern: Any, rules: CompareRules) -> list[Difference]:
    if rules.shape_only:
        legacy, modern = _shape(legacy), _shape(modern)
    return [
        diff for diff in json_differences(legacy, modern) if not ignored(diff.path, rules.ignore)
    ]


@dataclass
class Answer:
    """One half's response, as compared: status, content type, parsed body."""

    status: int
    content_type: str
    body: Any
    served_by: str | None = None
    rows: dict[str, list[dict[str, Any]]] | None = None  # the tables after a write (parity)

    @classmethod
    def from_bytes(
        cls, status: int, content_type: str, raw: bytes, served_by: str | None = None
    ) -> Answer:
        body: Any = raw.decode("utf-8", errors="replace")
        if "json" in content_type:
            try:
                body = json.loads(raw)
            except ValueError:
                pass
        elif content_type.startswith("text/event-stream"):
            body = server_sent_events(body)
        return cls(status=status, content_type=content_type, body=body, served_by=served_by)


def server_sent_events(text: str) -> list[dict[str, Any]]:
    """A stream as its events (comments such as heartbeats dropped, JSON data parsed), so
    two streams compare field by field and a clock in an `id:` shows up as noise."""
    events = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        event: dict[str, Any] = {}
        for line in block.split("\n"):
            if not line or line.startswith(":"):
                continue
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "data":
                try:
                    event["data"] = json.loads(value)
                except ValueError:
                    event["data"] = value
            else:
                event[name] = value
        if event:
            events.append(event)
    return events


def compare_answers(entry: RouteEntry, legacy: Answer, modern: Answer) -> list[Difference]:
    differences = []
    if legacy.status != modern.status:
        differences.append(Difference("status", legacy.status, modern.status))
    if legacy.content_type != modern.content_type:
        differences.append(Difference("content_type", legacy.content_type, modern.content_type))
    return differences + compare_bodies(legacy.body, modern.body, entry.compare)


def split_noise(
    differences: list[Difference], noisy_paths: set[str]
) -> tuple[list[Difference], list[Difference]]:
    """(real, noise): a difference is noise where Flask differs from itself (Diffy)."""
    real = [d for d in differences if d.path not in noisy_paths]
    noise = [d for d in differences if d.path in noisy_paths]
    return real, noise
