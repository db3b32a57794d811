"""The gateway the fuzzer talks to, once per half, each in a process of its own
(tests/fuzz/serve.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from shared.telegram_auth import sign_init_data
from tests.conftest import ADMIN_TOKEN, ROOT, WEBHOOK_SECRET
from tests.fuzz.serve import BOT_TOKEN

ALICE = {"id": 100000001, "username": "alice"}  # users.id 1 in the demo data
# The fuzzer stores feed URLs of any host and then fetches them (ingest, fetch): every
# outbound request not to loopback goes to a proxy on a closed local port, so none leaves.
NOWHERE = "http://127.0.0.1:9"
NO_OUTSIDE_NETWORK = {
    **{name: NOWHERE for name in ("all_proxy", "http_proxy", "https_proxy")},
    **{name.upper(): NOWHERE for name in ("all_proxy", "http_proxy", "https_proxy")},
    "no_proxy": "127.0.0.1,localhost",
    "NO_PROXY": "127.0.0.1,localhost",
}


def _served(half: str) -> Iterator[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fuzz.serve", half],
        cwd=ROOT,
        env={**os.environ, **NO_OUTSIDE_NETWORK},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stdin is not None
    url = process.stdout.readline().strip()
    if not url:
        process.kill()
        pytest.fail(f"the {half} gateway did not start:\n{process.communicate()[1]}")
    yield url
    _, errors = process.communicate(input="", timeout=60)
    # Nonzero when serving or cleaning up failed (the traceback is on its stderr).
    assert process.returncode == 0, f"the {half} gateway failed:\n{errors}"


@pytest.fixture(scope="session")
def async_half() -> Iterator[str]:
    """The URL of a gateway with every route on the async half."""
    yield from _served("async")


@pytest.fixture(scope="session")
def legacy_half() -> Iterator[str]:
    """The URL of a gateway with every route on the legacy half."""
    yield from _served("legacy")


@pytest.fixture(scope="session")
def credentials() -> dict[str, str]:
    """What every fuzzed request carries: the admin token, Alice's initData (fresh for the
    session), the webhook secret."""
    return {
        "Authorization": f"Bearer {ADMIN_TOKEN}",
        "X-Telegram-Init-Data": sign_init_data(ALICE, bot_token=BOT_TOKEN),
        "X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET,
    }
