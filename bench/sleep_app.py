"""The floor for the burst scenarios: a bare FastAPI endpoint that only sleeps.

`uvicorn bench.sleep_app:app`: `GET /sleep` waits `BENCH_SLEEP_MS` (500 by default) without
blocking the loop, like a 500 ms database call, and does nothing else. Whatever the
gateway needs beyond this for the same burst is its own cost.
"""

from __future__ import annotations

import asyncio
import os

from fastapi import FastAPI

SLEEP_SECONDS = int(os.environ.get("BENCH_SLEEP_MS", "500")) / 1000

app = FastAPI(title="bench: sleep only", docs_url=None, redoc_url=None, openapi_url=None)


@app.get("/sleep")
async def sleep() -> dict[str, float]:
    await asyncio.sleep(SLEEP_SECONDS)
    return {"slept": SLEEP_SECONDS}


@app.get("/ready")
async def ready() -> dict[str, bool]:
    return {"ready": True}
