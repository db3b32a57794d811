"""Digest jobs (POST /api/digest/jobs, GET /api/digest/jobs/<id>), digest history, one
digest, and the option lists. Jobs run against a real OpenAI-compatible server."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from tests.support.gateway_server import GatewayServer
from tests.support.servers import OpenAIStub

StartGateway = Callable[..., tuple[GatewayServer, httpx.Client]]
DONE_JOB = "00000000-0000-4000-8000-000000000001"  # demo: built digest 3 for user 2
FAILED_JOB = "00000000-0000-4000-8000-000000000002"
DIGEST_KEYS = {"id", "text", "model", "news_ids", "params", "created_at"}
# A busy AI (5xx, a timeout) is asked again (tests/jobs/test_upstream_retry.py): here once,
# soon, before the job fails.
RETRY_ONCE = {"jobs_max_attempts": 2, "jobs_retry_base_seconds": 0.05, "jobs_poll_seconds": 0.1}


@pytest.fixture(scope="module")
def openai_stub() -> Iterator[OpenAIStub]:
    with OpenAIStub() as stub:
        yield stub


def ai_gateway(start_gateway: StartGateway, stub: OpenAIStub, **settings: object) -> httpx.Client:
    return start_gateway(openai_api_key="test", openai_base_url=stub.base_url + "/v1", **settings)[
        1
    ]


def wait_for_job(http: httpx.Client, job_id: str, *, seconds: float = 20) -> dict:
    """Poll until the job is done or failed, or fail the test at the deadline."""
    deadline = time.monotonic() + seconds
    while True:
        job = http.get(f"/api/digest/jobs/{job_id}").json()
        if job["status"] in ("done", "failed"):
            return job
        assert time.monotonic() < deadline, f"job still {job['status']} after {seconds} s"
        time.sleep(0.05)


def error(response: httpx.Response) -> dict:
    return response.json()["error"]


# --- POST /api/digest/jobs, GET /api/digest/jobs/<id> ------------------------------------


def test_job_answers_202_before_the_ai_and_finishes_in_the_background(
    start_gateway: StartGateway, openai_stub: OpenAIStub
) -> None:
    openai_stub.reset()
    openai_stub.delay_seconds = 2.0
    http = ai_gateway(start_gateway, openai_stub)
    started = time.monotonic()
    response = http.post("/api/digest/jobs", json={"limit": 3, "categories": ["crypto"]})
    answered = time.monotonic() - started
    assert response.status_code == 202
    assert response.headers["content-type"] == "application/json"
    job_id = response.json()["job_id"]
    assert response.json() == {"job_id": job_id, "status": "queued"}
    assert answered < 2.0  # a POST that waited for the AI would take at least its 2 s
    assert http.get(f"/api/digest/jobs/{job_id}").json()["status"] in ("queued", "running")
    job = wait_for_job(http, job_id)
    assert set(job) == {"job_id", "status", "digest"}
    assert job["status"] == "done"
    digest = job["digest"]
    assert set(digest) == DIGEST_KEYS
    assert digest["model"] == "gpt-4o-mini"
    assert digest["text"] == "AI digest: Write a brief digest of these 3 news items."
    assert len(digest["news_ids"]) == 3
    assert digest["params"]["categories"] == ["crypto"]
    assert http.get(f"/api/digest/{digest['id']}").json() == {"digest": digest}


def test_failing_ai_fails_the_job_with_the_error(
    start_gateway: StartGateway, openai_stub: OpenAIStub
) -> None:
    openai_stub.reset()
    openai_stub.mode = "error"
    http = ai_gateway(start_gateway, openai_stub, **RETRY_ONCE)
    response = http.post("/api/digest/jobs", json={"limit": 2})
    assert response.status_code == 202
    job = wait_for_job(http, response.json()["job_id"])
    assert job == {
        "job_id": response.json()["job_id"],
        "status": "failed",
        "error": "the AI service failed: InternalServerError",
    }


def test_ai_timeout_fails_the_job(start_gateway: StartGateway, openai_stub: OpenAIStub) -> None:
    openai_stub.reset()
    openai_stub.mode = "hang"
    http = ai_gateway(start_gateway, openai_stub, ai_timeout_seconds=0.5, **RETRY_ONCE)
    job_id = http.post("/api/digest/jobs", json={"limit": 2}).json()["job_id"]
    job = wait_for_job(http, job_id)
    assert job["status"] == "failed"
    assert job["error"] == "the AI service did not answer within 0.5 s"
    assert "digest" not in job


def test_job_state_is_in_the_database_so_another_gateway_answers(
    client: httpx.Client, start_gateway: StartGateway, openai_stub: OpenAIStub
) -> None:
    openai_stub.reset()
    openai_stub.delay_seconds = 0.3
    http = ai_gateway(start_gateway, openai_stub)
    job_id = http.post("/api/digest/jobs", json={"user_id": 1, "limit": 2}).json()["job_id"]
    job = wait_for_job(client, job_id)  # the test's shared gateway, not the one that ran it
    assert job["status"] == "done"
    assert (
        client.get("/api/digest/history", params={"user_id": 1}).json()["items"][0]
        == (job["digest"])
    )


def test_job_without_an_ai_key_builds_the_extractive_digest_for_the_user(
    client: httpx.Client,
) -> None:
    response = client.post("/api/digest/jobs", json={"user_id": 4, "length": "short"})
    assert response.status_code == 202
    job = wait_for_job(client, response.json()["job_id"])
    assert job["status"] == "done"
    digest = job["digest"]
    assert digest["model"] == "extractive"
    assert digest["params"] == {
        "limit": 10,
        "categories": [],
        "style": "brief",
        "tone": "neutral",
        "length": "short",
        "audience": "general",
    }
    history = client.get("/api/digest/history", params={"user_id": 4}).json()
    assert [item["id"] for item in history["items"]] == [digest["id"]]


@pytest.mark.parametrize(
    ("payload", "status", "field"),
    [
        ({"limit": 51}, 400, "limit"),
        ({"style": "poem"}, 400, "style"),
        ({"categories": "crypto"}, 400, "categories"),
        ({"user_id": "1"}, 400, "user_id"),
        ({"user_id": 999}, 404, None),
        ({"user_id": 5}, 403, None),
    ],
)
def test_bad_job_requests_queue_nothing(
    client: httpx.Client, payload: dict, status: int, field: str | None
) -> None:
    response = client.post("/api/digest/jobs", json=payload)
    assert response.status_code == status
    assert error(response).get("field") == field
    # Nothing was queued: the user's history is unchanged and no digest appeared.
    assert client.get("/api/digest/5").status_code == 404


def test_finished_demo_job_carries_its_digest(client: httpx.Client) -> None:
    response = client.get(f"/api/digest/jobs/{DONE_JOB}")
    assert response.status_code == 200
    job = response.json()
    assert (job["job_id"], job["status"], job["digest"]["id"]) == (DONE_JOB, "done", 3)
    assert "error" not in job
    assert job["digest"] == client.get("/api/digest/3").json()["digest"]


def test_failed_demo_job_carries_its_error(client: httpx.Client) -> None:
    assert client.get(f"/api/digest/jobs/{FAILED_JOB}").json() == {
        "job_id": FAILED_JOB,
        "status": "failed",
        "error": "Summarizer timed out after 30 s",
    }


def test_job_id_in_another_uuid_spelling_is_the_same_job(client: httpx.Client) -> None:
    for spelling in (DONE_JOB.replace("-", ""), f"urn:uuid:{DONE_JOB}"):
        assert client.get(f"/api/digest/jobs/{spelling}").json()["job_id"] == DONE_JOB


@pytest.mark.parametrize(
    "job_id", ["00000000-0000-4000-8000-000000000099", "not-a-uuid", "12345", "%20"]
)
def test_unknown_or_malformed_job_id_is_404(client: httpx.Client, job_id: str) -> None:
    response = client.get(f"/api/digest/jobs/{job_id}")
    assert response.status_code == 404
    assert error(response) == {"code": "not_found", "message": "digest job not found"}


# --- GET /api/digest/history -------------------------------------------------------------


def test_history_is_the_users_digests_newest_first(client: httpx.Client) -> None:
    response = client.get("/api/digest/history", params={"user_id": 1})
    assert response.status_code == 200
    body = response.json()
    assert (body["total"], body["limit"], body["offset"]) == (2, 20, 0)
    assert [item["id"] for item in body["items"]] == [2, 1]
    assert set(body["items"][0]) == DIGEST_KEYS
    created = [item["created_at"] for item in body["items"]]
    assert created == sorted(created, reverse=True)


def test_history_pages(client: httpx.Client) -> None:
    body = client.get("/api/digest/history", params={"user_id": 1, "limit": 1, "offset": 1})
    assert [item["id"] for item in body.json()["items"]] == [1]
    assert body.json()["total"] == 2


def test_history_of_a_user_without_digests_is_empty(client: httpx.Client) -> None:
    body = client.get("/api/digest/history", params={"user_id": 3}).json()
    assert body == {"items": [], "total": 0, "limit": 20, "offset": 0}


@pytest.mark.parametrize(
    ("params", "status", "field"),
    [
        ({}, 400, "user_id"),
        ({"user_id": "x"}, 400, "user_id"),
        ({"user_id": 1, "limit": 0}, 400, "limit"),
        ({"user_id": 1, "limit": 101}, 400, "limit"),
        ({"user_id": 1, "offset": -1}, 400, "offset"),
        ({"user_id": 999}, 404, None),
        ({"user_id": 5}, 403, None),
    ],
)
def test_bad_history_requests(
    client: httpx.Client, params: dict, status: int, field: str | None
) -> None:
    response = client.get("/api/digest/history", params=params)
    assert response.status_code == status
    assert error(response).get("field") == field


# --- GET /api/digest/<id>, GET /api/digest/options ---------------------------------------


def test_one_digest(client: httpx.Client) -> None:
    response = client.get("/api/digest/1")
    assert response.status_code == 200
    digest = response.json()["digest"]
    assert set(digest) == DIGEST_KEYS
    assert digest["id"] == 1
    assert digest["params"]["categories"] == ["crypto", "markets"]
    assert digest["model"] == "extractive"


def test_generated_digest_can_be_read_back(client: httpx.Client) -> None:
    made = client.post("/api/digest/generate", json={"limit": 2}).json()["digest"]
    assert client.get(f"/api/digest/{made['id']}").json() == {"digest": made}


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/api/digest/999", 404),
        ("/api/digest/0", 400),
        ("/api/digest/99999999999", 404),  # digest ids go up to 2**53 - 1 (random ids)
        ("/api/digest/9007199254740992", 400),
    ],
)
def test_unknown_or_bad_digest_id(client: httpx.Client, path: str, status: int) -> None:
    assert client.get(path).status_code == status


def test_option_lists(client: httpx.Client) -> None:
    response = client.get("/api/digest/options")
    assert response.status_code == 200
    assert response.json() == {
        "style": ["brief", "analytical", "casual", "newsletter"],
        "tone": ["neutral", "optimistic", "critical"],
        "length": ["short", "medium", "long"],
        "audience": ["general", "investors", "tech", "students"],
    }
