"""`/openapi.json` and `/docs` through the gateway describe every async route, with its
parameters, bodies and error responses in the catalogue's shape (never a 422)."""

from __future__ import annotations

import httpx

from gateway.lint import fastapi_path
from gateway.manifest import load_manifest
from tests.conftest import ROOT, make_settings
from tests.support.gateway_server import GatewayServer

# The catalogue gives these a 503 body of their own: the health report, saying what is down.
OWN_503_BODY = {"api.health", "metrics.deep_health"}


def test_openapi_documents_every_route_with_catalogue_errors(database_url: str) -> None:
    with GatewayServer(make_settings(database_url)) as server:
        with httpx.Client(base_url=server.url) as client:
            document = client.get("/openapi.json").json()
            docs = client.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    paths = document["paths"]
    manifest = load_manifest(ROOT / "migration_status.yaml")
    for entry in manifest.entries.values():
        path = fastapi_path(entry.path).replace(":int}", "}")
        operation = paths[path][entry.method.lower()]
        responses = operation["responses"]
        assert "422" not in responses, entry.id
        if operation.get("parameters") or operation.get("requestBody"):
            assert "400" in responses, f"{entry.id} documents no 400"
        for status, response in responses.items():
            if (entry.id, status) in {(route, "503") for route in OWN_503_BODY}:
                continue
            if status.startswith(("4", "5")) and "application/json" in response.get("content", {}):
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorResponse"}, entry.id
    assert "HTTPValidationError" not in document["components"]["schemas"]
