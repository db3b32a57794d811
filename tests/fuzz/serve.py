"""The gateway the fuzzer talks to, in a process of its own: `python -m tests.fuzz.serve
HALF` serves every route on HALF on a fresh SQLite database, with every credential
configured (so requests reach the handlers) and the AI and Telegram upstreams stubbed.
It prints its URL, then serves until its stdin closes.

A process of its own: generating data holds the GIL, which in one process would look like
the gateway blocking its loop, and would make both slower.
"""

from __future__ import annotations

import asyncio
import sys

from shared.database.scratch import drop_scratch_database
from tests.conftest import ANCHOR, SQLITE_BASE_URL, _migrated_scratch, make_settings
from tests.support.gateway_server import GatewayServer
from tests.support.servers import OpenAIStub, TelegramBotAPIStub

BOT_TOKEN = "123456:fuzz-bot-token"


def serve(half: str) -> None:
    url = asyncio.run(_migrated_scratch(SQLITE_BASE_URL, f"fuzz_{half}"))
    try:
        with OpenAIStub() as ai, TelegramBotAPIStub() as telegram:
            settings = make_settings(
                url,
                telegram_bot_token=BOT_TOKEN,
                telegram_api_base_url=telegram.base_url,
                openai_api_key="sk-fuzz",
                openai_base_url=f"{ai.base_url}/v1",
                # Fuzzed initData in /webapp/api/auth fails by design: count it in this
                # process only, and never up to a lockout that would answer 429s.
                rate_limit_storage_url="memory://",
                auth_failure_limit="1000000/minute",
            )
            with GatewayServer(settings, force_status=half) as server:
                # Beside the suite's own workers on a shared CPU, a hammered loop lags for
                # reasons of the machine's; blocking calls are the loop-lag tests' to find.
                server.fail_on_loop_blocks = False
                server.reset_data(anchor=ANCHOR)
                print(server.url, flush=True)
                sys.stdin.read()
    finally:
        asyncio.run(drop_scratch_database(url, base_url=SQLITE_BASE_URL))


if __name__ == "__main__":
    serve(sys.argv[1])
