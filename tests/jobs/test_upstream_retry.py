"""A digest job whose AI service is busy (429 with `Retry-After`, 5xx) runs again later,
no sooner than the service asked, and finishes; a permanent failure, or a busy service on
the last attempt, ends the job `failed` with the reason. A request that waits for the AI
itself is still answered 502 at once (tests/api/test_upstream_faults.py has the rest).
On both halves and both backends, with the gateway's embedded worker."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.support.gateway_server import GatewayServer
from tests.support.servers import OpenAIStub

StartGateway = Callable[..., tuple[GatewayServer, httpx.Client]]


@pytest.fixture
def ai_stub() -> Iterator[OpenAIStub]:
    with OpenAIStub() as stub:
        yield stub


@pytest.fixture
def ai(start_gateway: StartGateway, ai_stub: OpenAIStub) -> httpx.Client:
    return start_gateway(
        openai_api_key="sk-test",
        openai_base_url=ai_stub.base_url + "/v1",
        jobs_poll_seconds=0.1,
        jobs_max_attempts=3,
        jobs_retry_base_seconds=0.05,  # backoff of at most 0.1-0.4 s: Retry-After rules
    )[1]


def create_job(http: httpx.Client) -> str:
    response = http.post("/api/digest/jobs", json={"limit": 3})
    assert response.status_code == 202, response.text
    return response.json()["job_id"]


def finished(http: httpx.Client, job_id: str, *, seconds: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while (job := http.get(f"/api/digest/jobs/{job_id}").json())["status"] in (
        "queued",
        "running",
    ):
        assert time.monotonic() < deadline, f"not finished after {seconds} s: {job}"
        time.sleep(0.1)
    return job


def test_a_busy_ai_service_is_asked_again_after_its_retry_after(
    ai: httpx.Client, ai_stub: OpenAIStub
) -> None:
    ai_stub.errors_next((429, 2), (503, None))
    job = finished(ai, create_job(ai))
    assert job["status"] == "done", job
    assert job["digest"]["text"].startswith("AI digest: ")
    first, second, third = ai_stub.call_times
    assert second - first >= 2.0  # the 429's Retry-After
    assert third - second < 2.0  # a 503 without one: the (short) backoff only


def test_a_permanent_ai_failure_fails_the_job_at_once_with_the_reason(
    ai: httpx.Client, ai_stub: OpenAIStub
) -> None:
    ai_stub.errors_next((400, None))
    job = finished(ai, create_job(ai))
    assert job == {
        "job_id": job["job_id"],
        "status": "failed",
        "error": "the AI service failed: BadRequestError",
    }
    assert len(ai_stub.call_times) == 1


def test_an_ai_service_busy_every_time_fails_the_job_after_the_last_attempt(
    ai: httpx.Client, ai_stub: OpenAIStub
) -> None:
    ai_stub.mode = "error"  # 500, always
    job = finished(ai, create_job(ai))
    assert (job["status"], job["error"]) == ("failed", "the AI service failed: InternalServerError")
    assert len(ai_stub.call_times) == 3  # jobs_max_attempts


def test_a_request_waiting_for_the_ai_still_gets_its_502_at_once(
    ai: httpx.Client, ai_stub: OpenAIStub
) -> None:
    ai_stub.errors_next((429, 30))
    started = time.monotonic()
    response = ai.post("/api/digest/generate", json={"limit": 3})
    assert time.monotonic() - started < 10
    assert response.status_code == 502
    assert response.json()["error"] == {
        "code": "upstream_error",
        "message": "the AI service failed: RateLimitError",
    }
    assert "retry-after" not in response.headers
    assert len(ai_stub.call_times) == 1
