"""What a digest is made with: the options, their defaults and limits, and the params as
stored with every digest (without I/O, so the digest queries can read them back)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

DIGEST_OPTIONS: dict[str, tuple[str, ...]] = {
    "style": ("brief", "analytical", "casual", "newsletter"),
    "tone": ("neutral", "optimistic", "critical"),
    "length": ("short", "medium", "long"),
    "audience": ("general", "investors", "tech", "students"),
}
DIGEST_DEFAULTS = {"style": "brief", "tone": "neutral", "length": "medium", "audience": "general"}
DIGEST_LIMIT = (1, 50, 10)  # min, max, default
MAX_DIGEST_CATEGORIES = 30


@dataclass(frozen=True)
class DigestParams:
    limit: int = DIGEST_LIMIT[2]
    categories: list[str] = field(default_factory=list)
    style: str = DIGEST_DEFAULTS["style"]
    tone: str = DIGEST_DEFAULTS["tone"]
    length: str = DIGEST_DEFAULTS["length"]
    audience: str = DIGEST_DEFAULTS["audience"]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def stored_params(value: Any) -> dict[str, Any]:
    """A digest's stored params in the catalogue's shape, whatever the row holds: a value
    of the wrong type (or none) reads as the default."""
    stored = value if isinstance(value, dict) else {}
    params = DigestParams().as_dict()
    limit = stored.get("limit")
    if isinstance(limit, int) and not isinstance(limit, bool):
        params["limit"] = limit
    categories = stored.get("categories")
    if isinstance(categories, list):
        params["categories"] = [name for name in categories if isinstance(name, str)]
    for key in DIGEST_OPTIONS:
        if isinstance(stored.get(key), str):
            params[key] = stored[key]
    return params
