"""Typed dependencies, in one place."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from shared.admin_auth import check_admin
from shared.database.engine import Database
from shared.identity import INIT_DATA_HEADER
from shared.rate_limit import client_of
from shared.runtime import Runtime


async def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


def runtime_of(request: Request) -> Runtime:
    """The runtime straight from the request. The frontend's hot routes take `request`
    rather than `RuntimeDep` or `Db`: FastAPI solves a dependency per request through its
    whole machinery, and on those routes that cost about a tenth of the request (issue 13)."""
    return request.app.state.runtime


async def get_db(request: Request) -> Database:
    return request.app.state.runtime.db


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
Db = Annotated[Database, Depends(get_db)]
InitData = Annotated[
    str | None,
    Header(alias=INIT_DATA_HEADER, description="Telegram WebApp initData (with a bot token)"),
]


async def require_admin(
    request: Request,
    # Documented as the AdminToken security scheme (async_api/openapi.py), not a parameter.
    authorization: Annotated[str | None, Header()] = None,
) -> str:
    rt: Runtime = request.app.state.runtime
    return await check_admin(
        rt.settings, authorization, guard=rt.auth_guard, client=client_of(request.scope)
    )


# Declared on admin routes (`dependencies=[...]` or a parameter): checked before any
# parameter is validated, as the legacy views check it first.
Admin = Annotated[str, Depends(require_admin)]
