"""Digest jobs: a digest built in the background, its state kept in `digest_jobs`.

Both halves create the job row the same way; the async half runs `run_digest_job` as a
task on the loop, the legacy half from its job thread through the loop bridge.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid

from shared.ai import DigestWriter
from shared.database.engine import Database
from shared.database.queries.digest_jobs import set_job_status
from shared.digest import DigestParams, generate_digest
from shared.errors import ApiError

log = logging.getLogger(__name__)

INTERRUPTED = "the digest job was interrupted before it finished"
INTERNAL = "the digest could not be built"


def canonical_job_id(value: str) -> str | None:
    """The stored form of a job id (lower-case UUID), or None if it is not a UUID."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


async def run_digest_job(
    *,
    db: Database,
    writer: DigestWriter,
    job_id: str,
    params: DigestParams,
    user_id: int | None,
) -> None:
    """queued -> running -> done | failed; never leaves the job running when it ends."""
    try:
        await set_job_status(db, job_id=job_id, status="running")
        digest = await generate_digest(db=db, writer=writer, params=params, user_id=user_id)
    except ApiError as exc:  # the AI failed or timed out: the client sees why
        await set_job_status(db, job_id=job_id, status="failed", error=exc.message)
        return
    except asyncio.CancelledError:  # shutting down, or the legacy thread gave up waiting
        with contextlib.suppress(Exception):  # the database may be closing too
            await asyncio.shield(
                set_job_status(db, job_id=job_id, status="failed", error=INTERRUPTED)
            )
        raise
    except Exception:
        log.exception("digest job %s failed", job_id)
        await set_job_status(db, job_id=job_id, status="failed", error=INTERNAL)
        return
    await set_job_status(db, job_id=job_id, status="done", digest_id=digest["id"])
