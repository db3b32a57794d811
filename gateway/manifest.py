"""`migration_status.yaml`: which half answers each route, and how to compare them."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, MapAdapter, Rule

STATUSES = ("legacy", "shadow", "canary", "async")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
ENTRY_KEYS = {
    "method",
    "path",
    "legacy_file",
    "status",
    "percent",
    "compare",
    "shadow",
    "fallback",
    "rollback",
    "canary",
    "record",
    "note",
}
COMPARE_KEYS = {"ignore", "shape_only", "note"}
SHADOW_KEYS = {"sample_rate", "allow_writes", "timeout_ms", "noise_sample_rate"}
FALLBACK_KEYS = {"on_5xx", "timeout_ms"}
RECORD_KEYS = {"sample_rate"}
ROLLBACK_KEYS = {"enabled", "error_rate", "min_requests", "min_clients", "window_seconds"}
CANARY_KEYS = {
    "steps",
    "interval_seconds",
    "min_requests",
    "max_error_rate_delta",
    "max_p95_ratio",
    "min_parity_rate",
}
DEFAULT_KEYS = {"shadow", "fallback", "rollback", "record"}
TOP_KEYS = {"version", "defaults", "routes", "legacy_half"}
# `legacy_half: retired`: Flask is not loaded at all (gateway/app.py); every route async.
LEGACY_HALF = ("loaded", "retired")


class ManifestError(ValueError):
    """A manifest that must not be used; `problems` says every reason found."""

    def __init__(self, path: str, problems: list[str]) -> None:
        super().__init__(f"{path}: " + "; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class CompareRules:
    ignore: tuple[str, ...] = ()  # JSON paths, `*` for one segment: `items.*.created_at`
    shape_only: bool = False  # keys and types only, for per-process answers
    note: str | None = None  # why the difference is legitimate


@dataclass(frozen=True)
class ShadowRules:
    sample_rate: float = 1.0  # share of requests replayed to FastAPI
    allow_writes: bool = False  # non-GET requests too, inside a rolled-back transaction
    timeout_ms: int = 2000
    noise_sample_rate: float = 0.1  # share also replayed to Flask again, to learn noise


@dataclass(frozen=True)
class FallbackRules:
    on_5xx: bool = False  # an async 5xx on an idempotent request is answered by Flask
    timeout_ms: int | None = None  # so is an async answer that has not started by then


@dataclass(frozen=True)
class RecordRules:
    """Requests stored as parity cases (gateway/recording.py); 0 records nothing."""

    sample_rate: float = 0.0


@dataclass(frozen=True)
class RollbackRules:
    enabled: bool = True
    error_rate: float = 0.25  # async failure share, above legacy's, that takes the route back
    min_requests: int = 20
    min_clients: int = 3  # distinct users or addresses among those requests
    window_seconds: float = 60.0


@dataclass(frozen=True)
class CanaryRules:
    """A progressive canary: async answers `steps[i]`% of users for `interval_seconds` per
    step, advanced while the gates hold, promoted to async after the last step, rolled back
    to legacy at the first failed gate (gateway/canary.py)."""

    steps: tuple[int, ...]
    interval_seconds: float = 60.0
    min_requests: int = 20  # async answers a step needs before it is judged
    max_error_rate_delta: float = 0.01  # async own-failure rate minus legacy's
    max_p95_ratio: float = 1.5  # async p95 over legacy p95
    min_parity_rate: float | None = None  # set: the legacy share is shadowed and compared


@dataclass(frozen=True)
class RouteEntry:
    id: str
    method: str
    path: str
    legacy_file: str | None
    status: str
    percent: int = 0
    compare: CompareRules = field(default_factory=CompareRules)
    shadow: ShadowRules = field(default_factory=ShadowRules)
    fallback: FallbackRules = field(default_factory=FallbackRules)
    rollback: RollbackRules = field(default_factory=RollbackRules)
    canary: CanaryRules | None = None
    record: RecordRules = field(default_factory=RecordRules)
    note: str | None = None
    fingerprint: str = ""  # changes whenever the entry's text does


@dataclass(frozen=True)
class Manifest:
    path: str
    version: str  # a digest of the file's bytes: which manifest is live
    entries: dict[str, RouteEntry]
    legacy_retired: bool = False  # `legacy_half: retired`: serve without Flask

    def with_status(self, status: str) -> Manifest:
        """Every route that has a legacy implementation forced to `status` (tests, parity)."""
        forced = {
            route_id: replace(entry, status=status) if entry.legacy_file else entry
            for route_id, entry in self.entries.items()
        }
        return replace(
            self,
            entries=forced,
            version=f"{self.version}+{status}",
            legacy_retired=self.legacy_retired and status == "async",
        )

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(STATUSES, 0)
        for entry in self.entries.values():
            counts[entry.status] += 1
        return counts


def _sub_rules(raw: Any, keys: set[str], where: str, problems: list[str]) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        problems.append(f"{where} must be a mapping")
        return {}
    for key in sorted(set(raw) - keys):
        problems.append(f"{where}: unknown key '{key}'")
    return {key: value for key, value in raw.items() if key in keys}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_share(value: Any) -> bool:
    return _is_number(value) and 0 <= value <= 1


def _is_positive(value: Any) -> bool:
    return _is_number(value) and value > 0


def _is_steps(value: Any) -> bool:
    return (
        isinstance(value, list)
        and len(value) > 0
        and all(_is_int(step) and 1 <= step <= 100 for step in value)
        and all(a < b for a, b in zip(value, value[1:], strict=False))
    )


def _is_text_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) and item for item in value)


# Every rule's accepted values, and the fix a lint message names.
_VALUE_CHECKS: dict[str, tuple[Any, str]] = {
    "ignore": (_is_text_list, "a list of JSON paths such as items.*.created_at"),
    "shape_only": (lambda v: isinstance(v, bool), "true or false"),
    "note": (lambda v: isinstance(v, str) and v.strip() != "", "a sentence saying why"),
    "sample_rate": (_is_share, "a share from 0 to 1"),
    "noise_sample_rate": (_is_share, "a share from 0 to 1"),
    "allow_writes": (lambda v: isinstance(v, bool), "true or false"),
    "timeout_ms": (lambda v: v is None or (_is_int(v) and v > 0), "milliseconds, above 0"),
    "on_5xx": (lambda v: isinstance(v, bool), "true or false"),
    "enabled": (lambda v: isinstance(v, bool), "true or false"),
    "error_rate": (_is_share, "a share from 0 to 1"),
    "min_requests": (lambda v: _is_int(v) and v >= 1, "a whole number, at least 1"),
    "min_clients": (lambda v: _is_int(v) and v >= 1, "a whole number, at least 1"),
    "window_seconds": (_is_positive, "seconds, above 0"),
    "steps": (_is_steps, "a rising list of percents from 1 to 100, such as [5, 25, 50]"),
    "interval_seconds": (_is_positive, "seconds, above 0"),
    "max_error_rate_delta": (_is_share, "a share from 0 to 1"),
    "max_p95_ratio": (lambda v: _is_number(v) and v >= 1, "a ratio, at least 1"),
    "min_parity_rate": (_is_share, "a share from 0 to 1"),
}


def _check_values(values: dict[str, Any], where: str, problems: list[str]) -> None:
    for key, value in values.items():
        accepts, wanted = _VALUE_CHECKS[key]
        if not accepts(value):
            problems.append(f"{where}.{key} is {value!r}: use {wanted}")


def _merged(defaults: dict[str, Any], key: str, raw: Any) -> Any:
    if key not in defaults:
        return raw
    if raw is None:
        return defaults[key]
    if isinstance(raw, dict) and isinstance(defaults[key], dict):
        return {**defaults[key], **raw}
    return raw


def _entry(
    route_id: str, raw: Any, problems: list[str], defaults: dict[str, Any]
) -> RouteEntry | None:
    where = f"routes.{route_id}"
    if not isinstance(raw, dict):
        problems.append(f"{where} must be a mapping")
        return None
    before = len(problems)
    for key in sorted(set(raw) - ENTRY_KEYS):
        problems.append(f"{where}: unknown key '{key}'")
    status = raw.get("status")
    if status not in STATUSES:
        problems.append(f"{where}: unknown status {status!r} (one of {', '.join(STATUSES)})")
    method = str(raw.get("method", "")).upper()
    if method not in METHODS:
        problems.append(f"{where}: method must be one of {', '.join(METHODS)}")
    path = raw.get("path")
    if not isinstance(path, str) or not path.startswith("/"):
        problems.append(f"{where}: path must start with '/'")
    legacy_file = raw.get("legacy_file")
    if legacy_file is None and status in ("legacy", "shadow", "canary"):
        problems.append(f"{where}: status {status} needs a legacy_file")
    percent = raw.get("percent", 0)
    canary = _sub_rules(raw.get("canary"), CANARY_KEYS, f"{where}.canary", problems)
    if "canary" in raw:
        if status != "canary":
            problems.append(f"{where}: canary rules only apply to status canary")
        elif "percent" in raw:
            problems.append(
                f"{where}: a progressive canary takes its percent from canary.steps:"
                " remove `percent`"
            )
        elif "steps" not in canary:
            problems.append(f"{where}.canary needs `steps`, such as [5, 25, 50]")
    elif status == "canary" and "percent" not in raw:
        problems.append(
            f"{where}: canary needs `percent: N` (1-100), the share of users FastAPI answers,"
            " or `canary: {steps: [...]}` for a progressive one; for none, use status legacy"
            " or shadow"
        )
    elif status == "canary" and not (_is_int(percent) and 1 <= percent <= 100):
        problems.append(f"{where}: canary percent must be a whole number from 1 to 100")
    if status != "canary" and "percent" in raw:
        problems.append(f"{where}: percent only applies to status canary")
    compare = _sub_rules(raw.get("compare"), COMPARE_KEYS, f"{where}.compare", problems)
    shadow = _sub_rules(
        _merged(defaults, "shadow", raw.get("shadow")), SHADOW_KEYS, f"{where}.shadow", problems
    )
    fallback = _sub_rules(
        _merged(defaults, "fallback", raw.get("fallback")),
        FALLBACK_KEYS,
        f"{where}.fallback",
        problems,
    )
    rollback = _sub_rules(
        _merged(defaults, "rollback", raw.get("rollback")),
        ROLLBACK_KEYS,
        f"{where}.rollback",
        problems,
    )
    _check_values(compare, f"{where}.compare", problems)
    _check_values(shadow, f"{where}.shadow", problems)
    _check_values(fallback, f"{where}.fallback", problems)
    _check_values(rollback, f"{where}.rollback", problems)
    record = _sub_rules(
        _merged(defaults, "record", raw.get("record")), RECORD_KEYS, f"{where}.record", problems
    )
    _check_values(canary, f"{where}.canary", problems)
    _check_values(record, f"{where}.record", problems)
    if len(problems) > before:
        return None
    # Without a problem above, both are strings (a checker cannot follow `problems`).
    assert isinstance(path, str) and isinstance(status, str)
    shadow_rules = ShadowRules(**shadow)
    fallback_rules = FallbackRules(**fallback)
    rollback_rules = RollbackRules(**rollback)
    return RouteEntry(
        id=route_id,
        method=method,
        path=path,
        legacy_file=legacy_file,
        status=status,
        percent=int(canary["steps"][0] if "canary" in raw else percent or 0),
        compare=CompareRules(
            ignore=tuple(compare.get("ignore", ())),
            shape_only=bool(compare.get("shape_only")),
            note=compare.get("note"),
        ),
        shadow=shadow_rules,
        fallback=fallback_rules,
        rollback=rollback_rules,
        canary=canary_rules(canary) if "canary" in raw else None,
        record=RecordRules(**record),
        note=raw.get("note"),
        fingerprint=hashlib.sha256(
            json.dumps(raw, sort_keys=True, default=str).encode()
        ).hexdigest()[:12],
    )


def canary_rules(values: dict[str, Any]) -> CanaryRules:
    """Checked `canary:` values (the manifest's, or a flip's) as rules."""
    return CanaryRules(**{**values, "steps": tuple(values["steps"])})


def canary_problems(values: dict[str, Any], where: str = "canary") -> list[str]:
    """What is wrong with `canary:` values (a flip's from the CLI, or one stored with it)."""
    problems: list[str] = []
    checked = _sub_rules(values, CANARY_KEYS, where, problems)
    if "steps" not in checked:
        problems.append(f"{where} needs `steps`, such as [5, 25, 50]")
    _check_values(checked, where, problems)
    return problems


def parse_manifest(text: str, *, path: str = "migration_status.yaml") -> Manifest:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ManifestError(path, [f"not valid YAML: {exc}"]) from None
    if not isinstance(data, dict) or not isinstance(data.get("routes"), dict):
        raise ManifestError(path, ["expected a mapping with a 'routes' mapping"])
    problems = [f"unknown top-level key '{key}'" for key in sorted(set(data) - TOP_KEYS)]
    defaults = data.get("defaults") or {}
    if not isinstance(defaults, dict):
        problems.append("defaults must be a mapping")
        defaults = {}
    for key in sorted(set(defaults) - DEFAULT_KEYS):
        problems.append(f"defaults: unknown key '{key}'")
    entries = {}
    for route_id, raw in data["routes"].items():
        entry = _entry(str(route_id), raw, problems, defaults)
        if entry is not None:
            entries[entry.id] = entry
    seen: dict[tuple[str, str], str] = {}
    for entry in entries.values():
        other = seen.setdefault((entry.method, entry.path), entry.id)
        if other != entry.id:
            problems.append(f"routes.{entry.id}: same method and path as {other}")
    legacy_half = data.get("legacy_half", "loaded")
    if legacy_half not in LEGACY_HALF:
        problems.append(f"legacy_half is {legacy_half!r}: use loaded or retired")
    elif legacy_half == "retired":
        problems.extend(
            f"routes.{entry.id}: status {entry.status} needs Flask, but legacy_half is retired"
            " (flip it to async first, or set legacy_half: loaded)"
            for entry in entries.values()
            if entry.status != "async"
        )
    if problems:
        raise ManifestError(path, problems)
    version = hashlib.sha256(text.encode()).hexdigest()[:12]
    return Manifest(
        path=path, version=version, entries=entries, legacy_retired=legacy_half == "retired"
    )


def load_manifest(path: str | Path) -> Manifest:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ManifestError(str(path), [f"cannot read: {exc.strerror}"]) from None
    return parse_manifest(text, path=str(path))


class RouteTable:
    """Matches a request to its manifest entry, with Flask's own URL rules."""

    def __init__(self, manifest: Manifest, *, previous: RouteTable | None = None) -> None:
        self.manifest = manifest
        self.shape = frozenset(
            (entry.id, entry.method, entry.path) for entry in manifest.entries.values()
        )
        if previous is not None and previous.shape == self.shape:
            # Only statuses or rules changed (a rollback, an override, a canary step): the
            # compiled URL map still holds, and compiling 92 rules costs the loop ~100 ms.
            self._adapter: MapAdapter = previous._adapter
            return
        rules = [
            Rule(entry.path, methods=[entry.method], endpoint=entry.id)
            for entry in manifest.entries.values()
        ]
        self._adapter = Map(rules, strict_slashes=False).bind("gateway")

    def match(self, method: str, path: str) -> RouteEntry | None:
        """HEAD matches the GET entry of its path (werkzeug adds HEAD to every GET rule)."""
        try:
            route_id, _ = self._adapter.match(path, method=method)
        except HTTPException:  # unknown path or method: Flask answers (the catch-all)
            return None
        return self.manifest.entries[route_id]

    def allowed_methods(self, path: str) -> list[str]:
        """The methods `match` routes for `path` (HEAD with GET; `/x` and `/x/` alike, as
        Flask matches them), sorted; empty if no entry has that path."""
        return [method for method in sorted((*METHODS, "HEAD")) if self.match(method, path)]
