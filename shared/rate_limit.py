"""Brute force costs time: failed credential checks are counted per client address.

`limits` counts them in a moving window (`AUTH_FAILURE_LIMIT`, e.g. 20 per minute), in
Redis when `RATE_LIMIT_STORAGE_URL` names one, so every worker process of a host shares
one count, or in this process's memory (`memory://`). While an address is over the
limit, every request of it that presents a credential (admin token or Telegram initData)
is answered 429 `rate_limited` with `Retry-After`, the right credential included: a right
guess answered 200 among 429s would still tell the guesser they had won. Requests that
present no credential are not affected. When Redis does not answer, failures are counted
in this process's memory (logged) and Redis is tried again after `REDIS_RETRY_SECONDS`.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError

from shared.errors import ApiError

if TYPE_CHECKING:  # imported when a Redis URL is configured: 40 ms at every start otherwise
    import redis.asyncio

log = logging.getLogger("shared.rate_limit")

DEFAULT_AUTH_FAILURE_LIMIT = "20/minute"
REDIS_RETRY_SECONDS = 30.0
# A Redis that does not answer must not hold a request up for long (it falls back instead).
REDIS_TIMEOUT_SECONDS = 0.5
# Set by the gateway on the scope of a request it replays to the other half (shadow traffic):
# that replay is checked against the limit but its failure is not counted a second time.
SHADOW_REPLAY_KEY = "newsdigest.shadow_replay"
RATE_LIMITED = "too many failed authentication attempts from this address; try again later"
_BUCKET = "auth-failures"
_STORAGE_ERRORS: tuple[type[Exception], ...] = (StorageError, OSError)

T = TypeVar("T")


@dataclass(frozen=True)
class Client:
    """Who presents a credential: the address counted, and whether this is a shadow replay."""

    address: str
    replay: bool = False


def client_of(scope: Mapping[str, Any]) -> Client:
    """The client of an ASGI scope (the legacy half reads it from `environ["asgi.scope"]`)."""
    peer = scope.get("client")
    return Client(address=peer[0] if peer else "unknown", replay=bool(scope.get(SHADOW_REPLAY_KEY)))


class FailedAuthGuard:
    """Counts failed credential checks per client address and refuses an address over the limit."""

    def __init__(
        self,
        *,
        limit: str = DEFAULT_AUTH_FAILURE_LIMIT,
        storage_url: str = "memory://",
        key_prefix: str = "newsdigest",
    ) -> None:
        self.limit: RateLimitItem = parse(limit)
        where = urlsplit(storage_url)
        self.storage_name = f"{where.scheme}://{where.hostname}:{where.port}"  # no password
        self._memory = MovingWindowRateLimiter(MemoryStorage())
        self._redis: MovingWindowRateLimiter | None = None
        self._pool: redis.asyncio.ConnectionPool | None = None
        self._redis_down_until = 0.0
        self._storage_errors = _STORAGE_ERRORS
        if not storage_url.startswith("memory://"):
            import redis.asyncio
            import redis.exceptions

            self._storage_errors = (*_STORAGE_ERRORS, redis.exceptions.RedisError)
            self._pool = redis.asyncio.ConnectionPool.from_url(
                storage_url.removeprefix("async+"),
                socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
                socket_timeout=REDIS_TIMEOUT_SECONDS,
            )
            storage = RedisStorage(
                "async+" + storage_url.removeprefix("async+"),
                implementation="redispy",
                # limits documents `connection_pool` but types its **options as scalars.
                connection_pool=self._pool,  # type: ignore[arg-type]
                key_prefix=key_prefix,
                wrap_exceptions=True,
            )
            self._redis = MovingWindowRateLimiter(storage)

    async def open(self) -> None:
        """Say at startup, not at the first failure, that Redis does not answer."""
        if self._redis is not None and not await self._redis.storage.check():
            self._redis_unavailable("no answer to PING")

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.disconnect()
        timer = self._memory.storage.timer  # type: ignore[attr-defined]
        if timer is not None:
            timer.cancel()

    async def check(self, client: Client) -> None:
        """Raise 429 `rate_limited` (with `Retry-After`) while `client` is over the limit."""
        stats = await self._count(
            lambda limiter: limiter.get_window_stats(self.limit, _BUCKET, client.address)
        )
        if stats.remaining <= 0:
            retry_after = max(1, math.ceil(stats.reset_time - time.time()))
            raise ApiError("rate_limited", RATE_LIMITED, retry_after=retry_after)

    async def failed(self, client: Client) -> None:
        """Count one failed check of `client`."""
        if not client.replay:
            await self._count(lambda limiter: limiter.hit(self.limit, _BUCKET, client.address))

    async def _count(self, use: Callable[[MovingWindowRateLimiter], Awaitable[T]]) -> T:
        if self._redis is not None and time.monotonic() >= self._redis_down_until:
            try:
                return await use(self._redis)
            except self._storage_errors as exc:
                self._redis_unavailable(repr(exc))
        return await use(self._memory)

    def _redis_unavailable(self, reason: str) -> None:
        self._redis_down_until = time.monotonic() + REDIS_RETRY_SECONDS
        log.warning(
            "rate-limit storage %s does not answer (%s): failed sign-ins are counted in this "
            "process only for the next %.0f s",
            self.storage_name,
            reason,
            REDIS_RETRY_SECONDS,
        )


async def guarded(guard: FailedAuthGuard, client: Client, verify: Callable[[], T]) -> T:
    """`verify()` a presented credential unless `client` is locked out; count its failure.

    `verify` raises `ApiError("unauthorized", …)` for a wrong credential.
    """
    await guard.check(client)
    try:
        return verify()
    except ApiError as exc:
        if exc.code == "unauthorized":
            await guard.failed(client)
        raise
