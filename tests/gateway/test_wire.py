"""HEAD, OPTIONS and chunked bodies: the same answer on the wire whichever half serves."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from werkzeug.serving import make_server

from async_api.app import create_app as create_async_app
from gateway.manifest import RouteEntry, load_manifest
from legacy_flask.app import create_app as create_legacy_app
from tests.conftest import ADMIN_TOKEN, ROOT, make_settings

MANIFEST = load_manifest(ROOT / "migration_status.yaml")
GET_ROUTES = [entry for entry in MANIFEST.entries.values() if entry.method == "GET"]
ONE_MIB = 1024 * 1024
# Path parameters filled with values of the demo data (a miss is fine: HEAD must miss alike).
SAMPLES = {
    "source": "BBC News",
    "category": "tech",
    "key": "digest_defaults",
    "job_id": "no-such-job",
}
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}  # no failed checks to rate-limit
JSON = {"Content-Type": "application/json"}


def concrete(path: str) -> str:
    def value(match: re.Match[str]) -> str:
        converter, name = match.group(1), match.group(2)
        return "1" if converter == "int" else SAMPLES[name]

    return re.sub(r"<(?:(\w+):)?(\w+)>", value, path)


def in_chunks(body: bytes, size: int = 64 * 1024) -> Iterator[bytes]:
    """A body httpx sends with Transfer-Encoding: chunked and no Content-Length."""
    for start in range(0, len(body), size):
        yield body[start : start + size]


def padded_json(size: int) -> bytes:
    return b'{"padding":"' + b"x" * (size - len(b'{"padding":""}')) + b'"}'


def per_process(entry: RouteEntry) -> bool:
    """Bodies that change between two requests (timings, counters): lengths can differ."""
    return entry.compare.shape_only or bool(entry.compare.ignore) or "metrics" in entry.id


def test_head_answers_every_get_route_as_the_get_without_a_body(client: httpx.Client) -> None:
    for entry in GET_ROUTES:
        path = concrete(entry.path)
        with client.stream("GET", path, headers=ADMIN) as get:  # a stream: headers only
            if "content-length" in get.headers:
                get.read()
        head = client.head(path, headers=ADMIN)
        where = f"HEAD {path} ({entry.id})"
        assert head.status_code == get.status_code, where
        assert head.content == b"", where
        for name in ("content-type", "x-served-by", "x-route-id"):
            assert head.headers.get(name) == get.headers.get(name), f"{where}: {name}"
        if "content-length" in get.headers:
            assert head.headers.get("content-length", "").isdigit(), where
            if not per_process(entry):
                assert head.headers["content-length"] == str(len(get.content)), where
        assert head.headers["x-route-id"] == entry.id, where


@pytest.mark.parametrize(
    ("path", "allow"),
    [
        ("/api/categories", "GET, HEAD, OPTIONS"),
        ("/api/users", "OPTIONS, POST"),
        ("/api/events/", "GET, HEAD, OPTIONS, POST"),
        ("/api/events", "GET, HEAD, OPTIONS, POST"),  # `/x` and `/x/` match alike
        ("/api/events/3", "DELETE, GET, HEAD, OPTIONS, PUT"),
        ("/api/subscriptions/tech", "DELETE, OPTIONS"),
    ],
)
def test_options_is_answered_by_the_gateway_from_the_manifest(
    client: httpx.Client, path: str, allow: str
) -> None:
    preflight = {"Origin": "https://elsewhere.example", "Access-Control-Request-Method": "POST"}
    for headers in ({}, preflight):
        response = client.options(path, headers=headers)
        assert response.status_code == 204
        assert response.headers["allow"] == allow
        assert response.headers["x-served-by"] == "gateway"
        assert response.content == b""
        assert "access-control-allow-origin" not in response.headers  # no CORS: same origin


def test_options_on_an_unlisted_path_is_flask_s(client: httpx.Client) -> None:
    response = client.options("/not/in/the/manifest")
    assert response.status_code == 404
    assert response.headers["x-served-by"] == "legacy"


def test_a_chunked_body_is_read_like_one_with_a_length(client: httpx.Client) -> None:
    body = b'{"user_id": 3, "category": "crypto", "action": "subscribe"}'
    chunked = client.post("/api/subscriptions/update", content=in_chunks(body, 7), headers=JSON)
    assert chunked.request.headers["transfer-encoding"] == "chunked"
    assert "content-length" not in chunked.request.headers
    assert chunked.status_code == 200, chunked.text
    assert chunked.json() == {"success": True, "category": "crypto", "subscribed": True}
    listed = client.get("/api/subscriptions", params={"user_id": 3}).json()
    assert "crypto" in str(listed)

    event = b'{"event": "app_open", "user_id": 2}'
    with_length = client.post("/api/analytics/track", content=event, headers=JSON)
    chunked = client.post("/api/analytics/track", content=in_chunks(event, 5), headers=JSON)
    assert chunked.status_code == with_length.status_code == 202
    assert chunked.json() == with_length.json()


@pytest.mark.parametrize(
    ("path", "at_limit_status"),
    [
        ("/api/analytics/track", 400),  # read, then validated: no event
        ("/admin/api/news", 401),  # read, then the admin check
        ("/not/listed", 404),  # Flask's catch-all
    ],
)
def test_a_chunked_body_over_1_mib_is_413_before_any_other_check(
    client: httpx.Client, path: str, at_limit_status: int
) -> None:
    response = client.post(path, content=in_chunks(padded_json(ONE_MIB + 1)), headers=JSON)
    assert response.status_code == 413
    assert response.json() == {
        "error": {"code": "payload_too_large", "message": "request body is larger than 1 MiB"}
    }
    at_limit = client.post(path, content=in_chunks(padded_json(ONE_MIB)), headers=JSON)
    assert at_limit.status_code == at_limit_status


def test_the_bare_async_half_answers_head_and_chunked_bodies(database_url: str) -> None:
    app = create_async_app(settings=make_settings(database_url))

    async def exercise() -> None:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bare") as http:
                get = await http.get("/api/categories")
                head = await http.head("/api/categories")
                assert (head.status_code, head.content) == (200, b"")
                assert head.headers["content-length"] == str(len(get.content))

                async def chunks(body: bytes) -> AsyncIterator[bytes]:
                    for piece in in_chunks(body):
                        yield piece

                event = b'{"event": "app_open"}'
                small = await http.post("/api/analytics/track", content=chunks(event), headers=JSON)
                assert small.status_code == 202
                big = await http.post(
                    "/api/analytics/track", content=chunks(padded_json(ONE_MIB + 1)), headers=JSON
                )
                assert big.status_code == 413

    asyncio.run(exercise())


def test_the_bare_legacy_half_reads_chunked_bodies(database_url: str) -> None:
    """werkzeug's server, like gunicorn, sets wsgi.input_terminated for a chunked body."""
    server = make_server("127.0.0.1", 0, create_legacy_app(settings=make_settings(database_url)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{server.server_port}", timeout=30) as http:
            event = b'{"event": "app_open"}'
            small = http.post("/api/analytics/track", content=in_chunks(event, 4), headers=JSON)
            assert small.status_code == 202, small.text
            for path in ("/api/analytics/track", "/admin/api/news"):
                big = http.post(path, content=in_chunks(padded_json(ONE_MIB + 1)), headers=JSON)
                assert big.status_code == 413, path
                assert big.json()["error"]["code"] == "payload_too_large"
    finally:
        server.shutdown()
        thread.join(10)
