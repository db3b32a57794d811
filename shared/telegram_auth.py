"""Telegram WebApp initData validation (HMAC-SHA256, as Telegram documents it).

secret_key = HMAC_SHA256(key="WebAppData", msg=bot_token)
hash       = hex(HMAC_SHA256(key=secret_key, msg=data_check_string))
where data_check_string is every field but `hash`, as `key=value`, sorted, joined by "\n".
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

MAX_AGE_SECONDS = 24 * 3600
# How far ahead of this server's clock Telegram's may be; later than that is not a real login.
MAX_CLOCK_SKEW_SECONDS = 60


class InitDataError(ValueError):
    """initData that does not prove who the user is; the message says why."""


@dataclass(frozen=True)
class TelegramUser:
    id: int
    username: str | None
    language_code: str | None
    auth_date: int


def _secret_key(bot_token: str) -> bytes:
    return hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()


def _data_check_string(fields: dict[str, str]) -> str:
    return "\n".join(f"{key}={fields[key]}" for key in sorted(fields) if key != "hash")


def validate_init_data(
    init_data: str,
    *,
    bot_token: str,
    max_age_seconds: int = MAX_AGE_SECONDS,
    now: float | None = None,
) -> TelegramUser:
    fields = dict(parse_qsl(init_data, keep_blank_values=True, strict_parsing=False))
    received = fields.get("hash")
    if not received:
        raise InitDataError("hash is missing")
    expected = hmac.new(
        _secret_key(bot_token), _data_check_string(fields).encode(), hashlib.sha256
    ).hexdigest()
    if not hmac.compare_digest(expected, received):
        raise InitDataError("signature does not match")
    try:
        auth_date = int(fields["auth_date"])
    except (KeyError, ValueError):
        raise InitDataError("auth_date is missing") from None
    age = (now if now is not None else time.time()) - auth_date
    if age > max_age_seconds:
        raise InitDataError("auth_date is older than 24 hours")
    if age < -MAX_CLOCK_SKEW_SECONDS:
        raise InitDataError("auth_date is in the future")
    try:
        user = json.loads(fields["user"])
        user_id = int(user["id"])
    except (KeyError, ValueError, TypeError):
        raise InitDataError("user is missing") from None
    return TelegramUser(
        id=user_id,
        username=user.get("username"),
        language_code=user.get("language_code"),
        auth_date=auth_date,
    )


def sign_init_data(
    user: dict[str, Any], *, bot_token: str, auth_date: int | None = None, **extra: str
) -> str:
    """Build initData as Telegram would send it (for tests, demos and the benchmark)."""
    fields = {
        "auth_date": str(int(time.time()) if auth_date is None else auth_date),
        "user": json.dumps(user, separators=(",", ":")),
        **extra,
    }
    fields["hash"] = hmac.new(
        _secret_key(bot_token), _data_check_string(fields).encode(), hashlib.sha256
    ).hexdigest()
    return urlencode(fields)
