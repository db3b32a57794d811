"""The Telegram WebApp's pages, rendered alike by both halves from the same templates.

Server-rendered values are deterministic (UTC labels from the stored timestamps, never
"5 minutes ago"), so both halves answer the same bytes; the page's script turns the
`<time datetime>` elements into local and relative times in the browser.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.categories import CATEGORIES, CATEGORY_TREE, SUBCATEGORIES
from shared.digest import DIGEST_DEFAULTS, DIGEST_LIMIT, DIGEST_OPTIONS
from shared.web.templating import render

NEWS_PAGE_SIZE = 20
EVENTS_PAGE_SIZE = 50
# Languages the settings page offers: those of the demo users and a few more.
LANGUAGES = (
    ("en", "English"),
    ("ru", "Русский"),
    ("de", "Deutsch"),
    ("es", "Español"),
    ("fr", "Français"),
    ("it", "Italiano"),
    ("pt", "Português"),
)
# How names read on screen; anything else is capitalised.
LABELS = {"ai": "AI", "nft": "NFT", "defi": "DeFi", "forex": "Forex", "esports": "Esports"}
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def label(name: str) -> str:
    return LABELS.get(name, name[:1].upper() + name[1:])


def safe_link(value: str | None) -> str | None:
    """Only http(s) links become an `href`: a stored `javascript:` link must not run."""
    return value if value and value.lower().startswith(("http://", "https://")) else None


def published_label(value: str) -> str:
    """`2025-01-18T16:00:00Z` -> `18 Jan, 16:00 UTC` (no locale involved)."""
    moment = _parse(value)
    return f"{moment.day} {_MONTHS[moment.month - 1]}, {moment:%H:%M} UTC"


def event_labels(value: str) -> dict[str, str]:
    """The pieces of an event's start the page shows: day, month, date, clock."""
    moment = _parse(value)
    month = _MONTHS[moment.month - 1]
    return {
        "day": str(moment.day),
        "month": month,
        "date": f"{_WEEKDAYS[moment.weekday()]} {moment.day} {month}",
        "clock": f"{moment:%H:%M} UTC",
    }


def _page(template: str, *, page: str, title: str, **context: Any) -> str:
    return render(
        f"webapp/{template}",
        page=page,
        title=title,
        categories=CATEGORIES,
        category_tree=CATEGORY_TREE,
        label=label,
        labels={name: label(name) for name in (*CATEGORIES, *SUBCATEGORIES)},
        **context,
    )


def index_page() -> str:
    return _page("index.html", page="index", title="For you")


def news_page(*, items: list[dict[str, Any]], category: str | None) -> str:
    parent = SUBCATEGORIES.get(category, category) if category else None
    return _page(
        "news.html",
        page="news",
        title="News",
        items=[
            {**item, "link": safe_link(item["link"]), "when": published_label(item["published_at"])}
            for item in items
        ],
        category=category,
        parent=parent,
        page_size=NEWS_PAGE_SIZE,
    )


def events_page(*, events: list[dict[str, Any]], category: str | None) -> str:
    return _page(
        "events.html",
        page="events",
        title="Events",
        events=[{**event, "when": event_labels(event["starts_at"])} for event in events],
        category=category,
    )


def digest_page() -> str:
    return _page(
        "digest.html",
        page="digest",
        title="Digest",
        options=DIGEST_OPTIONS,
        defaults=DIGEST_DEFAULTS,
        limit_min=DIGEST_LIMIT[0],
        limit_max=DIGEST_LIMIT[1],
        limit_default=DIGEST_LIMIT[2],
    )


def subscriptions_page() -> str:
    return _page("subscriptions.html", page="subscriptions", title="Topics")


def settings_page() -> str:
    return _page(
        "settings.html",
        page="settings",
        title="Settings",
        options=DIGEST_OPTIONS,
        defaults=DIGEST_DEFAULTS,
        languages=LANGUAGES,
    )
