"""The admin page, rendered alike by both halves, with the headers that protect it.

The page is a shell without data: it asks for the admin token, keeps it in the tab's
sessionStorage and calls the admin APIs with it. A browser cannot send a bearer header
when it opens a page, so the shell itself is served without the token; everything it
shows comes from the token-protected `/admin/api/...` endpoints.
"""

from __future__ import annotations

import base64
import hashlib
import re

from shared.categories import CATEGORY_TREE
from shared.web.templating import render

_INLINE = re.compile(r"<(script|style)>(.*?)</\1>", re.DOTALL)


def _sources(html: str, kind: str) -> str:
    """CSP hashes of the page's own inline blocks: nothing else may run or style it."""
    hashes = [
        "'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"
        for tag, body in _INLINE.findall(html)
        if tag == kind
    ]
    return " ".join(hashes) or "'none'"


def admin_page(*, configured: bool) -> tuple[str, dict[str, str]]:
    """The page's HTML and its response headers; `configured`: is ADMIN_TOKEN set."""
    html = render("admin/index.html", configured=configured, categories=CATEGORY_TREE)
    policy = "; ".join(
        (
            "default-src 'none'",
            f"script-src {_sources(html, 'script')}",
            f"style-src {_sources(html, 'style')}",
            "connect-src 'self'",
            "img-src 'self' data:",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        )
    )
    headers = {
        "Content-Security-Policy": policy,
        "Cache-Control": "no-store",
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
    }
    return html, headers
