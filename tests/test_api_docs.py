"""docs/api.md, the API contract in the repository, and the `/openapi.json` the gateway
serves list the same operations (method and path), and the counts the page states are its
own rows."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import ROOT, make_settings
from tests.support.gateway_server import GatewayServer

API_DOC = ROOT / "docs" / "api.md"
ROW = re.compile(r"^\| (GET|POST|PUT|PATCH|DELETE) \| (/\S*) \|", re.MULTILINE)
GROUP = re.compile(r"^### \S+ — `[^`]+` \((\d+)[^)]*\)$", re.MULTILINE)


@pytest.fixture(scope="module")
def openapi(database_url: str) -> Iterator[dict]:
    with GatewayServer(make_settings(database_url)) as server:
        response = httpx.get(server.url + "/openapi.json", timeout=60)
        assert response.status_code == 200
        yield response.json()


def documented_operations(text: str) -> list[tuple[str, str]]:
    return [(method, path) for method, path in ROW.findall(text)]


# The operations do not depend on the database: SQLite only.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True, scope="session")
def test_docs_api_md_lists_every_openapi_operation_and_nothing_else(openapi: dict) -> None:
    served = {
        (method.upper(), path)
        for path, operations in openapi["paths"].items()
        for method in operations
        if method in {"get", "post", "put", "patch", "delete"}
    }
    documented = documented_operations(API_DOC.read_text())
    assert len(documented) == len(set(documented)), "an operation is listed twice"
    assert sorted(served - set(documented)) == [], "in /openapi.json, missing from docs/api.md"
    assert sorted(set(documented) - served) == [], "in docs/api.md, not in /openapi.json"


def test_the_counts_docs_api_md_states_are_its_rows() -> None:
    text = API_DOC.read_text()
    total = int(re.search(r"(\d+) endpoints", text).group(1))  # type: ignore[union-attr]
    assert total == len(documented_operations(text))
    sections = GROUP.split(text)[1:]  # count, body, count, body, ...
    assert len(sections) == 2 * 9, "one section per legacy route file"
    for count, body in zip(sections[::2], sections[1::2], strict=True):
        assert int(count) == len(documented_operations(body)), body.splitlines()[2]
