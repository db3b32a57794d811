"""The fixed category tree. Both halves validate `category` filters against it."""

from __future__ import annotations

CATEGORY_TREE: dict[str, tuple[str, ...]] = {
    "crypto": ("bitcoin", "ethereum", "defi", "nft", "regulation"),
    "sports": ("football", "basketball", "tennis", "hockey", "esports"),
    "markets": ("stocks", "forex", "commodities", "bonds", "macro"),
    "tech": ("ai", "startups", "gadgets", "software", "security"),
    "world": ("politics", "economy", "conflicts", "climate", "society"),
}

CATEGORIES: tuple[str, ...] = tuple(CATEGORY_TREE)
SUBCATEGORIES: dict[str, str] = {
    sub: category for category, subs in CATEGORY_TREE.items() for sub in subs
}


def is_known(name: str) -> bool:
    """A category or a subcategory name."""
    return name in CATEGORY_TREE or name in SUBCATEGORIES


def category_structure() -> dict[str, list[str]]:
    return {category: list(subs) for category, subs in CATEGORY_TREE.items()}
