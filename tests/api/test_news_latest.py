"""GET /api/news/latest — the seed's hot endpoint."""

from __future__ import annotations

import httpx
import pytest

from shared.categories import CATEGORY_TREE


def test_latest_news_is_newest_first_with_count(client: httpx.Client) -> None:
    response = client.get("/api/news/latest", params={"limit": 5})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["count"] == len(body["news"]) == 5
    published = [item["published_at"] for item in body["news"]]
    assert published == sorted(published, reverse=True)
    first = body["news"][0]
    assert set(first) == {
        "id",
        "title",
        "summary",
        "link",
        "source",
        "category",
        "subcategory",
        "importance",
        "published_at",
    }
    assert first["published_at"].endswith("Z")


def test_latest_news_default_limit_is_20(client: httpx.Client) -> None:
    assert client.get("/api/news/latest").json()["count"] == 20


def test_category_means_all_its_subcategories(client: httpx.Client) -> None:
    body = client.get("/api/news/latest", params={"category": "sports", "limit": 100}).json()
    assert body["count"] > 0
    assert {item["category"] for item in body["news"]} == {"sports"}
    assert {item["subcategory"] for item in body["news"]} <= set(CATEGORY_TREE["sports"])


def test_subcategory_filters_to_itself(client: httpx.Client) -> None:
    body = client.get("/api/news/latest", params={"category": "ethereum"}).json()
    assert body["count"] > 0
    assert {item["subcategory"] for item in body["news"]} == {"ethereum"}


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"limit": 0}, "limit", "limit must be greater than or equal to 1"),
        ({"limit": 101}, "limit", "limit must be less than or equal to 100"),
        ({"limit": "ten"}, "limit", "limit must be an integer"),
        ({"category": "cooking"}, "category", "category must be a known category or subcategory"),
    ],
)
def test_bad_parameters_are_400_naming_the_field(
    client: httpx.Client, params: dict, field: str, message: str
) -> None:
    response = client.get("/api/news/latest", params=params)
    assert response.status_code == 400
    assert response.json() == {
        "error": {"code": "invalid_parameter", "message": message, "field": field}
    }
