"""When a failed job runs again: procrastinate's retry strategy, fitted to our upstreams.

- A job cut short by a worker's shutdown goes straight back to the queue (any worker).
- A job whose upstream was busy (`UpstreamBusy`: 429, 5xx, a timeout) runs again after
  an exponential backoff with full jitter, never sooner than the upstream's `Retry-After`,
  up to `max_attempts` runs in all.
- Anything else is permanent: the job ends `failed` (the task records the reason).

A task that knows it runs for the `last_attempt` records a busy upstream as its failure
(the digest job's or the message's reason) instead of raising `UpstreamBusy`.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from procrastinate import exceptions
from procrastinate.jobs import Job
from procrastinate.retry import BaseRetryStrategy, RetryDecision


class UpstreamBusy(Exception):
    """The upstream may answer later: HTTP 429 or 5xx, a timeout, a dropped connection."""

    def __init__(self, reason: str, *, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


def retry_after_seconds(value: str | None) -> float | None:
    """A `Retry-After` header in seconds (the delay-seconds form; an HTTP date reads as none)."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


def last_attempt(job: Job, max_attempts: int) -> bool:
    """No run of `job` follows this one, whatever it raises: the task records the outcome."""
    return job.attempts + 1 >= max_attempts


@dataclass(frozen=True)
class UpstreamRetry(BaseRetryStrategy):
    max_attempts: int = 5
    base_seconds: float = 1.0
    max_seconds: float = 60.0
    rng: random.Random = field(default_factory=random.Random, compare=False)

    def delay(self, *, attempts: int, retry_after: float | None) -> float:
        """Full jitter on 2**attempts * base, capped; never before `retry_after`."""
        ceiling = min(self.max_seconds, self.base_seconds * 2**attempts)
        return max(self.rng.uniform(0, ceiling), min(retry_after or 0.0, self.max_seconds))

    def get_retry_decision(self, *, exception: BaseException, job: Job) -> RetryDecision | None:
        # The worker asks about a JobAborted only when the abort was its own shutdown.
        if isinstance(exception, (exceptions.JobAborted, asyncio.CancelledError)):
            return RetryDecision(retry_at=datetime.now(UTC))
        if isinstance(exception, UpstreamBusy) and not last_attempt(job, self.max_attempts):
            seconds = self.delay(attempts=job.attempts, retry_after=exception.retry_after)
            return RetryDecision(retry_at=datetime.now(UTC) + timedelta(seconds=seconds))
        return None
