"""`python -m tests.pgbouncer.burst_client BASE_URL CLIENTS < requests.json`: every request
of the list once, CLIENTS at a time, from a process of its own (in the gateway's process the
clients would share its GIL and its garbage collector); prints the answers by status and
side (`X-Served-By`) as JSON, with the body of any answer that is not 2xx and any transport
error."""

from __future__ import annotations

import asyncio
import json
import sys
from collections import Counter
from typing import Any

import httpx


async def burst(base_url: str, requests: list[list[Any]], clients: int) -> Counter[str]:
    answers: Counter[str] = Counter()
    pending = list(reversed(requests))
    limits = httpx.Limits(max_connections=clients)
    async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits) as http:

        async def one_client() -> None:
            while pending:
                method, path, body = pending.pop()
                try:
                    response = await http.request(method, path, json=body)
                except httpx.HTTPError as exc:  # a dropped connection, a timeout: counted
                    answers[f"{method} {path}: {exc!r}"[:300]] += 1
                    continue
                answers[f"{response.status_code} {response.headers.get('x-served-by')}"] += 1
                if not response.is_success:
                    answers[f"{method} {path}: {response.text[:200]}"] += 1

        await asyncio.gather(*(one_client() for _ in range(clients)))
    return answers


def main() -> None:
    base_url, clients = sys.argv[1], int(sys.argv[2])
    print(json.dumps(asyncio.run(burst(base_url, json.load(sys.stdin), clients))))


if __name__ == "__main__":
    main()
