"""The acting user, for async routes (see `shared.identity`)."""

from __future__ import annotations

from typing import Any

from shared.identity import acting_user
from shared.runtime import Runtime


async def current_user(
    rt: Runtime, *, init_data: str | None, user_id: int | None
) -> dict[str, Any]:
    return await acting_user(rt.db, rt.settings, init_data=init_data, user_id=user_id)
