from __future__ import annotations

import httpx

from shared.categories import CATEGORY_TREE


def test_categories_and_their_structure(client: httpx.Client) -> None:
    response = client.get("/api/categories")
    assert response.status_code == 200
    assert response.json() == {
        "categories": ["crypto", "sports", "markets", "tech", "world"],
        "structure": {name: list(subs) for name, subs in CATEGORY_TREE.items()},
    }


def test_wrong_method_is_405_in_the_error_shape(client: httpx.Client) -> None:
    response = client.post("/api/categories")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_unknown_path_is_404_in_the_error_shape(client: httpx.Client) -> None:
    response = client.get("/api/no-such-thing")
    assert response.status_code == 404
    assert response.headers["x-served-by"] == "legacy"  # the catch-all
    assert response.json() == {"error": {"code": "not_found", "message": "no such endpoint"}}
