"""Checks of who may call, for sync views."""

from __future__ import annotations

import hmac

from flask import request

from legacy_flask.extensions import run, runtime
from legacy_flask.validation import init_data
from shared.admin_auth import check_admin
from shared.errors import ApiError
from shared.identity import acting_user
from shared.telegram_webhook import WEBHOOK_SECRET_HEADER


def current_user(user_id: int | None) -> dict:
    """The user this request acts as (see `shared.identity`)."""
    rt = runtime()
    return run(acting_user(rt.db, rt.settings, init_data=init_data(), user_id=user_id))


def require_webhook_secret() -> None:
    secret = runtime().settings.telegram_webhook_secret
    if not secret:
        return
    given = request.headers.get(WEBHOOK_SECRET_HEADER, "")
    if not hmac.compare_digest(given.encode(), secret.encode()):
        raise ApiError("unauthorized", "the webhook secret token is missing or wrong")


def require_admin() -> str:
    """First thing in every admin view: 503 unconfigured, 401 missing or wrong token."""
    return check_admin(runtime().settings, request.headers.get("Authorization"))
