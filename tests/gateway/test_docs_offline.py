"""`/docs` and `/redoc` work offline: their JavaScript and CSS come from the service itself,
a headless Chromium shows them with no console error under their Content-Security-Policy,
and `/favicon.ico` answers."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from websockets.sync.client import ClientConnection, connect

from tests.conftest import IN_CI, make_settings
from tests.support.gateway_server import GatewayServer

PRODUCTION_TOKEN = "a-production-admin-token-of-real-length-0123456789"
ASSETS = {
    "/docs/assets/swagger-ui-bundle.js": "javascript",
    "/docs/assets/swagger-ui.css": "text/css",
    "/docs/assets/redoc.standalone.js": "javascript",
}
# What a page loads: src and href attributes, Swagger UI's `url`, ReDoc's spec URL.
LOADED = re.compile(r'(?:src|href)="([^"]+)"|url: \'([^\']+)\'|Redoc\.init\("([^"]+)"')


# The pages do not depend on the database: SQLite only.
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True, scope="session")


@pytest.fixture(scope="module")
def docs_server(database_url: str) -> Iterator[GatewayServer]:
    with GatewayServer(make_settings(database_url)) as server:
        yield server


def test_docs_pages_name_only_the_services_own_assets(docs_server: GatewayServer) -> None:
    with httpx.Client(base_url=docs_server.url, timeout=30) as client:
        for page, assets in (
            ("/docs", ["/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css"]),
            ("/redoc", ["/docs/assets/redoc.standalone.js"]),
        ):
            response = client.get(page)
            assert response.status_code == 200, page
            assert response.headers["content-type"].startswith("text/html")
            urls = ["".join(groups) for groups in LOADED.findall(response.text)]
            assert set(assets) <= set(urls), page
            assert all(url.startswith("/") for url in urls), urls  # nothing from elsewhere
            assert "/openapi.json" in urls and "/favicon.ico" in urls
            policy = dict(
                directive.strip().split(" ", 1)
                for directive in response.headers["content-security-policy"].split(";")
            )
            assert policy["default-src"] == "'none'"
            assert re.fullmatch(r"'self'( 'sha256-[^']+')+", policy["script-src"]), policy
            assert "https:" not in str(policy)
            assert response.headers["x-frame-options"] == "DENY"
        for path, kind in ASSETS.items():
            asset = client.get(path)
            assert asset.status_code == 200, path
            assert kind in asset.headers["content-type"], path
            assert len(asset.content) > 100_000, path  # the real bundle, not a stub
        icon = client.get("/favicon.ico")
        assert icon.status_code == 200
        assert icon.headers["content-type"] == "image/png"
        assert icon.content.startswith(b"\x89PNG")
        missing = client.get("/docs/assets/no-such-file.js")
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "not_found"


def test_production_locks_the_docs_assets_with_the_pages_but_not_the_favicon(
    database_url: str,
) -> None:
    settings = make_settings(database_url, environment="production", admin_token=PRODUCTION_TOKEN)
    with GatewayServer(settings) as server, httpx.Client(base_url=server.url) as client:
        asset = "/docs/assets/swagger-ui.css"
        assert client.get(asset).status_code == 401
        authorized = {"Authorization": f"Bearer {PRODUCTION_TOKEN}"}
        assert client.get(asset, headers=authorized).status_code == 200
        assert client.get("/favicon.ico").status_code == 200


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if IN_CI:
        pytest.fail("Chromium is required under CI=true (Debian package `chromium`)")
    pytest.skip("Chromium is not installed (apt-get install chromium)")


class DevTools:
    """One page of a headless Chromium, driven over the DevTools protocol; keeps every
    console error, uncaught exception and requested URL."""

    def __init__(self, socket: ClientConnection) -> None:
        self.socket = socket
        self.next_id = 0
        self.errors: list[str] = []
        self.requested: list[str] = []
        self.loaded = False

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        self.socket.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = self._receive(timeout=30)
            if message is not None and message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message["result"]

    def _receive(self, timeout: float) -> dict[str, Any] | None:
        try:
            message = json.loads(self.socket.recv(timeout=timeout))
        except TimeoutError:
            return None
        self._observe(message)
        return message

    def _observe(self, message: dict[str, Any]) -> None:
        method, params = message.get("method"), message.get("params", {})
        if method == "Runtime.consoleAPICalled" and params["type"] in {"error", "assert"}:
            self.errors.append(" ".join(str(a.get("value", a)) for a in params["args"]))
        elif method == "Runtime.exceptionThrown":
            self.errors.append(json.dumps(params["exceptionDetails"]))
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            self.errors.append(f"{params['entry']['source']}: {params['entry']['text']}")
        elif method == "Network.requestWillBeSent":
            self.requested.append(params["request"]["url"])
        elif method == "Page.loadEventFired":
            self.loaded = True

    def open(self, url: str, *, ready: str, timeout: float = 60) -> None:
        """Navigate, then wait until the JavaScript expression `ready` is true."""
        self.loaded = False
        self.call("Page.navigate", url=url)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.loaded:
                result = self.call("Runtime.evaluate", expression=ready, returnByValue=True)
                if result["result"].get("value") is True:
                    self._receive(timeout=1)  # late errors of the first render
                    while self._receive(timeout=0.2) is not None:
                        pass
                    return
            self._receive(timeout=0.2)
        raise AssertionError(f"{url} never became ready ({ready}); errors: {self.errors}")


@pytest.fixture(scope="module")
def browser() -> Iterator[DevTools]:
    # Chromium's helper processes may still write to the profile as the browser exits.
    with tempfile.TemporaryDirectory(
        prefix="docs-chromium-", ignore_cleanup_errors=True
    ) as profile:
        process = subprocess.Popen(
            [
                _chromium(),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                # Offline: any host but the loopback gateway fails to resolve.
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
                f"--user-data-dir={profile}",
                "--window-size=1400,1800",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            active_port = os.path.join(profile, "DevToolsActivePort")
            deadline = time.monotonic() + 60
            while not os.path.exists(active_port) or not open(active_port).read().strip():
                assert process.poll() is None, "Chromium exited at start"
                assert time.monotonic() < deadline, "Chromium did not start"
                time.sleep(0.1)
            port = open(active_port).read().split()[0]
            pages = httpx.get(f"http://127.0.0.1:{port}/json/list", timeout=10).json()
            page = next(target for target in pages if target["type"] == "page")
            with connect(page["webSocketDebuggerUrl"], max_size=None) as socket:
                devtools = DevTools(socket)
                for domain in ("Page", "Runtime", "Log", "Network"):
                    devtools.call(f"{domain}.enable")
                yield devtools
        finally:
            process.terminate()
            process.wait(30)


@pytest.mark.parametrize(
    ("page", "ready"),
    [
        # Swagger UI has fetched /openapi.json and drawn an operation of the catalogue.
        ("/docs", "document.querySelector('.opblock-summary-path') !== null"),
        # ReDoc has drawn the operations' menu and the API's title.
        ("/redoc", "document.querySelectorAll('li[data-item-id]').length > 50"),
    ],
)
def test_docs_page_renders_offline_without_console_errors(
    docs_server: GatewayServer, browser: DevTools, page: str, ready: str
) -> None:
    browser.errors.clear()
    browser.requested.clear()
    browser.open(docs_server.url + page, ready=ready)
    assert not browser.errors, "\n".join(browser.errors)
    requested = {url for url in browser.requested if not url.startswith(("data:", "blob:"))}
    assert requested and all(url.startswith(docs_server.url + "/") for url in requested), requested
    assert docs_server.url + "/openapi.json" in requested
    text = browser.call(
        "Runtime.evaluate", expression="document.body.innerText", returnByValue=True
    )["result"]["value"]
    assert "/api/news/latest" in text
