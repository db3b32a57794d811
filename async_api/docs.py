"""The OpenAPI pages (`/docs`, `/redoc`) and `/favicon.ico`, all served by this service.

Swagger UI and ReDoc come from the `fastapi-offline` package, which ships both bundles
(refreshed with its releases): nothing is loaded from a CDN, so the pages work offline, and
under a Content-Security-Policy (`page_headers(bundled_ui=True)`): scripts are this
origin's files and the page's own blocks by hash, nothing else.
"""

from __future__ import annotations

import json
from html import escape
from importlib.resources import files

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles

from shared.web.security import page_headers

DOCS_PATH, REDOC_PATH = "/docs", "/redoc"
OAUTH2_REDIRECT_PATH = "/docs/oauth2-redirect"
ASSETS_PATH = "/docs/assets"  # under /docs: locked with the pages in production
FAVICON_PATH = "/favicon.ico"
BUNDLES = files("fastapi_offline") / "static"  # swagger-ui-bundle.js, swagger-ui.css, …
# No calls to the public validator (swagger.io) from the page: the CSP would refuse them.
SWAGGER_UI_PARAMETERS = {"validatorUrl": None}
# ReDoc's side menu shows Redocly's logo from their CDN, which an offline page cannot reach
# (and its img-src refuses): an empty picture takes its place, so nothing fails. React sets
# an image's `src` both as an attribute and, once mounted, as a property.
REDOC_CDN_LOGO = """
const offline = (url) => String(url).startsWith("https://cdn.redoc.ly/")
  ? "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 1 1'/%3E" : url;
const imageSource = Object.getOwnPropertyDescriptor(HTMLImageElement.prototype, "src");
Object.defineProperty(HTMLImageElement.prototype, "src", {
  ...imageSource, set(url) { imageSource.set.call(this, offline(url)); },
});
const setAttribute = Element.prototype.setAttribute;
HTMLImageElement.prototype.setAttribute = function (name, value) {
  return setAttribute.call(this, name, name === "src" ? offline(value) : value);
};
"""
# FastAPI's ReDoc page (`get_redoc_html`), with that shim run before the bundle.
REDOC_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="shortcut icon" href="{favicon}">
<style>body {{ margin: 0; padding: 0; }}</style>
</head>
<body>
<div id="redoc"></div>
<script>{logo_shim}</script>
<script src="{bundle}"></script>
<script>Redoc.init({openapi}, {{}}, document.getElementById("redoc"))</script>
</body>
</html>
"""


def _page(html: str) -> HTMLResponse:
    return HTMLResponse(html, headers=page_headers(html, bundled_ui=True))


def add_offline_docs(app: FastAPI) -> None:
    """Serve the pages FastAPI would serve from a CDN (create the app with `docs_url` and
    `redoc_url` None) from the bundled assets instead."""
    openapi_url = app.openapi_url or "/openapi.json"
    app.mount(ASSETS_PATH, StaticFiles(directory=str(BUNDLES)), name="docs-assets")

    @app.get(DOCS_PATH, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        page = get_swagger_ui_html(
            openapi_url=root + openapi_url,
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{root}{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=root + FAVICON_PATH,
            oauth2_redirect_url=root + OAUTH2_REDIRECT_PATH,
            swagger_ui_parameters=SWAGGER_UI_PARAMETERS,
        )
        return _page(bytes(page.body).decode())

    @app.get(OAUTH2_REDIRECT_PATH, include_in_schema=False)
    async def swagger_ui_oauth2_redirect() -> HTMLResponse:
        return _page(bytes(get_swagger_ui_oauth2_redirect_html().body).decode())

    @app.get(REDOC_PATH, include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return _page(
            REDOC_PAGE.format(
                title=escape(f"{app.title} - ReDoc"),
                favicon=escape(root + FAVICON_PATH),
                logo_shim=REDOC_CDN_LOGO,
                bundle=escape(f"{root}{ASSETS_PATH}/redoc.standalone.js"),
                openapi=json.dumps(root + openapi_url),
            )
        )

    @app.get(FAVICON_PATH, include_in_schema=False)
    async def favicon() -> FileResponse:
        return FileResponse(str(BUNDLES / "favicon.png"), media_type="image/png")
