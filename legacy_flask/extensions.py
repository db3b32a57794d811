"""How a sync view reaches the shared runtime: only through the loop bridge."""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any, TypeVar

from flask import current_app

from shared.database.bridge import LoopBridge
from shared.runtime import Runtime

T = TypeVar("T")


def bridge() -> LoopBridge[Runtime]:
    return current_app.extensions["loop_bridge"]


def runtime() -> Runtime:
    return bridge().resource


def run(coro: Coroutine[Any, Any, T], *, timeout: float | None = None) -> T:
    """Run a coroutine of the shared async layer on the shared loop and wait for it."""
    return bridge().run(coro, timeout=timeout)
