"""The headers every HTML page goes out with, whichever half (or the gateway) renders it.

Each page carries its script and style inline, so the Content-Security-Policy allows
exactly those blocks by hash and nothing else. The admin console and the gateway's
dashboard may not be framed at all; the WebApp may be framed only by Telegram's web
client (web.telegram.org opens WebApps in an iframe), so it sets `frame-ancestors`
instead of `X-Frame-Options`, which cannot name an origin.
"""

from __future__ import annotations

import base64
import hashlib
import re
from html import unescape

_INLINE = re.compile(r"<(script|style)>(.*?)</\1>", re.DOTALL)
_STYLE_ATTRIBUTE = re.compile(r'\sstyle="([^"]*)"')
TELEGRAM_WEB_CLIENT = "https://web.telegram.org"


def _hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def _sources(html: str, kind: str) -> str:
    """CSP hashes of the page's own inline blocks (and, for styles, of its `style`
    attributes, allowed one by one through 'unsafe-hashes'): nothing else may run or
    style it."""
    hashes = [_hash(body) for tag, body in _INLINE.findall(html) if tag == kind]
    if kind == "style":
        attributes = sorted({unescape(value) for value in _STYLE_ATTRIBUTE.findall(html)})
        if attributes:
            hashes += ["'unsafe-hashes'", *(_hash(value) for value in attributes)]
    return " ".join(hashes) or "'none'"


def page_headers(
    html: str, *, framed_by_telegram: bool = False, bundled_ui: bool = False
) -> dict[str, str]:
    """CSP (inline blocks by hash), frame denial, nosniff, no referrer, no caching.

    `bundled_ui` is for the OpenAPI pages, which run Swagger UI or ReDoc from this origin's
    files: scripts from 'self' besides the page's own blocks; styles from 'self' and inline
    (ReDoc adds <style> blocks as it renders, which no hash can name in advance); workers
    from blob: URLs (ReDoc's search)."""
    ancestors = TELEGRAM_WEB_CLIENT if framed_by_telegram else "'none'"
    scripts, styles = _sources(html, "script"), _sources(html, "style")
    if bundled_ui:  # ('none' beside another source is an error in the browser's console)
        scripts = " ".join(source for source in ("'self'", scripts) if source != "'none'")
        styles = "'self' 'unsafe-inline'"  # a hash beside 'unsafe-inline' would disable it
    policy = "; ".join(
        (
            "default-src 'none'",
            f"script-src {scripts}",
            f"style-src {styles}",
            *(["worker-src blob:"] if bundled_ui else []),
            "connect-src 'self'",
            "img-src 'self' data:",
            "base-uri 'none'",
            "form-action 'none'",
            f"frame-ancestors {ancestors}",
        )
    )
    headers = {
        "Content-Security-Policy": policy,
        "Cache-Control": "no-store",
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
    }
    if not framed_by_telegram:
        headers["X-Frame-Options"] = "DENY"
    return headers
