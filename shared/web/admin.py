"""The admin page, rendered alike by both halves, with the headers that protect it.

The page is a shell without data: it asks for the admin token, keeps it in the tab's
sessionStorage and calls the admin APIs with it. A browser cannot send a bearer header
when it opens a page, so the shell itself is served without the token; everything it
shows comes from the token-protected `/admin/api/...` endpoints.
"""

from __future__ import annotations

from shared.categories import CATEGORY_TREE
from shared.web.security import page_headers
from shared.web.templating import render


def admin_page(*, configured: bool) -> tuple[str, dict[str, str]]:
    """The page's HTML and its response headers; `configured`: is ADMIN_TOKEN set."""
    html = render("admin/index.html", configured=configured, categories=CATEGORY_TREE)
    return html, page_headers(html)
