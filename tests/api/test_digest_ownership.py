"""With a bot token, a digest and a digest job are readable by their owner only, digest
ids tell nothing of how many digests exist, and initData from the future proves nothing."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from shared.database.schema import MAX_DIGEST_ID, MAX_ID
from shared.telegram_auth import sign_init_data
from tests.conftest import ANCHOR, http_client, make_settings
from tests.support.gateway_server import GatewayServer

BOT_TOKEN = "123456:test-bot-token"
ALICE = {"id": 100000001, "username": "alice"}  # users.id 1: demo digests 1 and 2, failed job
BOB = {"id": 100000002, "username": "bob"}  # users.id 2: demo digest 3 and the done job
ALICES_DIGEST, ANONYMOUS_DIGEST = 1, 4
BOBS_JOB = "00000000-0000-4000-8000-000000000001"
ALICES_JOB = "00000000-0000-4000-8000-000000000002"


@pytest.fixture(scope="module")
def http(database_url: str, half: str) -> Iterator[httpx.Client]:
    """One gateway with a bot token for the module: the tests only add rows of their own."""
    settings = make_settings(database_url, telegram_bot_token=BOT_TOKEN)
    with GatewayServer(settings, force_status=half) as server:
        server.reset_data(anchor=ANCHOR)
        with http_client(server, half) as client:
            yield client


def as_user(user: dict, **kwargs: object) -> dict[str, str]:
    return {"X-Telegram-Init-Data": sign_init_data(user, bot_token=BOT_TOKEN, **kwargs)}


def code(response: httpx.Response) -> tuple[int, str | None]:
    error = response.json().get("error") if response.status_code >= 400 else None
    return response.status_code, error["code"] if error else None


def test_a_digest_is_read_by_its_owner_only(http: httpx.Client) -> None:
    path = f"/api/digest/{ALICES_DIGEST}"
    assert http.get(path, headers=as_user(ALICE)).json()["digest"]["id"] == ALICES_DIGEST
    assert code(http.get(path)) == (401, "unauthorized")
    forged = {"X-Telegram-Init-Data": sign_init_data(ALICE, bot_token="another:token")}
    assert code(http.get(path, headers=forged)) == (401, "unauthorized")
    # Another user's digest is not found, exactly as one that does not exist.
    assert code(http.get(path, headers=as_user(BOB))) == (404, "not_found")
    assert (
        http.get(path, headers=as_user(BOB)).json()
        == http.get("/api/digest/999", headers=as_user(BOB)).json()
    )


def test_a_digest_of_nobody_is_read_by_nobody(http: httpx.Client) -> None:
    for user in (ALICE, BOB):
        response = http.get(f"/api/digest/{ANONYMOUS_DIGEST}", headers=as_user(user))
        assert code(response) == (404, "not_found")


def test_a_job_is_read_by_its_owner_only(http: httpx.Client) -> None:
    job = http.get(f"/api/digest/jobs/{BOBS_JOB}", headers=as_user(BOB)).json()
    assert job["status"] == "done" and job["digest"]["id"] == 3
    assert (
        http.get(f"/api/digest/jobs/{ALICES_JOB}", headers=as_user(ALICE)).json()["status"]
        == "failed"
    )
    assert code(http.get(f"/api/digest/jobs/{BOBS_JOB}")) == (401, "unauthorized")
    assert code(http.get(f"/api/digest/jobs/{BOBS_JOB}", headers=as_user(ALICE))) == (
        404,
        "not_found",
    )


def test_a_new_job_needs_an_owner_and_is_theirs(http: httpx.Client) -> None:
    assert code(http.post("/api/digest/jobs", json={"limit": 2})) == (401, "unauthorized")
    job_id = http.post("/api/digest/jobs", json={"limit": 2}, headers=as_user(ALICE)).json()[
        "job_id"
    ]
    deadline = time.monotonic() + 20
    while (job := http.get(f"/api/digest/jobs/{job_id}", headers=as_user(ALICE)).json())[
        "status"
    ] not in ("done", "failed"):
        assert time.monotonic() < deadline, job
        time.sleep(0.05)
    assert job["status"] == "done"
    digest_id = job["digest"]["id"]
    assert http.get(f"/api/digest/{digest_id}", headers=as_user(ALICE)).json() == {
        "digest": job["digest"]
    }
    for path in (f"/api/digest/jobs/{job_id}", f"/api/digest/{digest_id}"):
        assert code(http.get(path, headers=as_user(BOB))) == (404, "not_found")


def test_digest_ids_are_random_and_tell_no_count(http: httpx.Client) -> None:
    made = [
        http.post("/api/digest/generate", json={"limit": 2}, headers=as_user(ALICE)).json()[
            "digest"
        ]["id"]
        for _ in range(3)
    ]
    assert len(set(made)) == 3
    assert all(0 < digest_id <= MAX_DIGEST_ID for digest_id in made)
    # Beyond PostgreSQL's `integer` (bigint columns); all three below it: a 2**-66 chance.
    assert any(digest_id > MAX_ID for digest_id in made)
    history = http.get("/api/digest/history", headers=as_user(ALICE)).json()
    assert set(made) <= {item["id"] for item in history["items"]}
    for digest_id in made:
        assert http.get(f"/api/digest/{digest_id}", headers=as_user(ALICE)).status_code == 200


def test_init_data_from_the_future_is_401_beyond_a_minute_of_skew(http: httpx.Client) -> None:
    now = int(time.time())
    path = f"/api/digest/{ALICES_DIGEST}"
    future = http.get(path, headers=as_user(ALICE, auth_date=now + 3600))
    assert code(future) == (401, "unauthorized")
    assert "future" in future.json()["error"]["message"]
    assert http.get(path, headers=as_user(ALICE, auth_date=now + 30)).status_code == 200
