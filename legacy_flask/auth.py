"""Checks of who may call, for sync views."""

from __future__ import annotations

import hmac

from flask import request

from legacy_flask.extensions import run, runtime
from legacy_flask.validation import init_data
from shared.admin_auth import check_admin
from shared.errors import ApiError
from shared.identity import acting_user
from shared.identity import reader_id as reader_id_of
from shared.rate_limit import Client, client_of
from shared.telegram_webhook import WEBHOOK_SECRET_HEADER
from shared.users import check_registration as check_registration_of


def request_client() -> Client:
    """Who sent this request, for the brute-force guard (`shared.rate_limit`)."""
    scope = request.environ.get("asgi.scope")  # set by a2wsgi: the gateway's own view
    return client_of(scope) if scope else Client(address=request.remote_addr or "unknown")


def current_user(user_id: int | None) -> dict:
    """The user this request acts as (see `shared.identity`)."""
    rt = runtime()
    return run(
        acting_user(
            rt.db,
            rt.settings,
            init_data=init_data(),
            user_id=user_id,
            guard=rt.auth_guard,
            client=request_client(),
        )
    )


def reader_id() -> int | None:
    """Whose digests and digest jobs this request may read (see `shared.identity`)."""
    rt = runtime()
    return run(
        reader_id_of(
            rt.db, rt.settings, init_data=init_data(), guard=rt.auth_guard, client=request_client()
        )
    )


def check_registration(telegram_id: int) -> None:
    """Who may register `telegram_id` (see `shared.users`)."""
    rt = runtime()
    run(
        check_registration_of(
            rt.settings,
            init_data=init_data(),
            telegram_id=telegram_id,
            guard=rt.auth_guard,
            client=request_client(),
        )
    )


def require_webhook_secret() -> None:
    secret = runtime().settings.telegram_webhook_secret
    if not secret:
        return
    given = request.headers.get(WEBHOOK_SECRET_HEADER, "")
    if not hmac.compare_digest(given.encode(), secret.encode()):
        raise ApiError("unauthorized", "the webhook secret token is missing or wrong")


def require_admin() -> str:
    """First thing in every admin view: 503 unconfigured, 401 missing or wrong token."""
    rt = runtime()
    return run(
        check_admin(
            rt.settings,
            request.headers.get("Authorization"),
            guard=rt.auth_guard,
            client=request_client(),
        )
    )
