"""POST /api/digest/generate: the real openai client against a local OpenAI-compatible
server, and the deterministic extractive digest when no key is configured."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest

from tests.support.gateway_server import GatewayServer
from tests.support.servers import OpenAIStub

StartGateway = Callable[..., tuple[GatewayServer, httpx.Client]]


@pytest.fixture(scope="module")
def openai_stub() -> Iterator[OpenAIStub]:
    with OpenAIStub() as stub:
        yield stub


@pytest.fixture
def ai_client(start_gateway: StartGateway, openai_stub: OpenAIStub) -> httpx.Client:
    openai_stub.reset()
    return start_gateway(
        openai_api_key="sk-test",
        openai_base_url=openai_stub.base_url + "/v1",
        openai_model="digest-model",
        ai_timeout_seconds=1.0,
    )[1]


def test_digest_is_written_by_the_ai_and_stored(
    ai_client: httpx.Client, openai_stub: OpenAIStub
) -> None:
    response = ai_client.post(
        "/api/digest/generate", json={"limit": 3, "categories": ["crypto"], "style": "analytical"}
    )
    assert response.status_code == 200
    digest = response.json()["digest"]
    assert digest["model"] == "digest-model"
    assert digest["text"] == "AI digest: Write a analytical digest of these 3 news items."
    assert len(digest["news_ids"]) == 3
    assert digest["params"]["style"] == "analytical"
    sent = openai_stub.requests[-1]
    assert sent["json"]["model"] == "digest-model"
    assert sent["headers"]["authorization"] == "Bearer sk-test"
    assert "[crypto]" in sent["json"]["messages"][-1]["content"]


def test_ai_slower_than_the_timeout_is_504(
    ai_client: httpx.Client, openai_stub: OpenAIStub
) -> None:
    openai_stub.delay_seconds = 3
    response = ai_client.post("/api/digest/generate", json={"limit": 2})
    assert response.status_code == 504
    assert response.json()["error"]["code"] == "upstream_timeout"


@pytest.mark.parametrize("mode", ["error", "garbage"])
def test_ai_failure_is_502(ai_client: httpx.Client, openai_stub: OpenAIStub, mode: str) -> None:
    openai_stub.mode = mode
    response = ai_client.post("/api/digest/generate", json={"limit": 2})
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "upstream_error"


def test_without_a_key_the_digest_is_extractive_and_deterministic(client: httpx.Client) -> None:
    request = {"limit": 6, "categories": ["tech"], "length": "short", "tone": "critical"}
    first = client.post("/api/digest/generate", json=request).json()["digest"]
    second = client.post("/api/digest/generate", json=request).json()["digest"]
    assert first["model"] == "extractive"
    assert first["text"] == second["text"]
    assert second["id"] != first["id"]  # two digests, under random ids
    lines = first["text"].splitlines()
    assert lines[0] == "Brief for everyone: 3 of 6 stories"  # short: three stories
    assert all(line.startswith("- [tech] ") for line in lines[1:4])
    assert lines[-1] == "Worth reading with a sceptical eye."
    longer = client.post("/api/digest/generate", json={**request, "length": "long"}).json()
    assert len(longer["digest"]["text"]) > len(first["text"])


def test_a_users_digest_covers_their_subscriptions(client: httpx.Client) -> None:
    subscribed = {
        item["category"]
        for item in client.get("/api/subscriptions", params={"user_id": 2}).json()["subscriptions"]
    }
    digest = client.post("/api/digest/generate", json={"user_id": 2, "limit": 20}).json()["digest"]
    categories = {line.split("]")[0][3:] for line in digest["text"].splitlines()[1:-1]}
    assert categories and categories <= subscribed


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 51}, "limit"),
        ({"style": "poem"}, "style"),
        ({"categories": ["cooking"]}, "categories"),
        ({"categories": "crypto"}, "categories"),
        ({"audience": 3}, "audience"),
    ],
)
def test_bad_options_are_400_naming_the_field(client: httpx.Client, body: dict, field: str) -> None:
    response = client.post("/api/digest/generate", json=body)
    assert response.status_code == 400
    assert response.json()["error"]["field"] == field
