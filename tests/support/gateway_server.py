"""The gateway served by a real uvicorn on 127.0.0.1, in a thread, for tests."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any, Self, TypeVar

import uvicorn
from starlette.types import ASGIApp

from gateway.app import Gateway, create_gateway
from gateway.looplag import LoopBlock
from gateway.manifest import Manifest
from shared.database.engine import Database
from shared.database.migrate import load_demo, wipe
from shared.settings import Settings

T = TypeVar("T")


class GatewayServer:
    def __init__(
        self,
        settings: Settings,
        *,
        force_status: str | None = None,
        manifest: Manifest | None = None,
        wrap_async: Callable[[ASGIApp], ASGIApp] | None = None,
    ) -> None:
        self.settings = settings
        self.app = create_gateway(
            settings, manifest=manifest, force_status=force_status, wrap_async=wrap_async
        )
        self.gateway: Gateway = self.app.state.gateway
        # The whole suite fails if any request handled in it held the loop for longer than
        # LOOP_BLOCK_THRESHOLD_MS (100 ms): async code must never block.
        self.fail_on_loop_blocks = True
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    def start(self) -> Self:
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=0,
            log_level="warning",
            lifespan="on",
            timeout_keep_alive=self.settings.keep_alive_seconds,
            # asyncio's own loop in the test process: uvloop crashed it once (a segmentation
            # fault in the loop thread while the suite's many threads called into it); the
            # gateways the suite starts as processes (`gateway serve`) keep uvloop.
            loop="asyncio",
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="uvicorn", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 60  # a start may wait on the database connect timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the gateway did not start")
            time.sleep(0.01)
        port = self._server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(20)
            self._server = self._thread = None
            blocked = self.loop_blocks()
            if blocked and self.fail_on_loop_blocks:
                raise AssertionError(
                    "a request blocked the gateway's event loop: "
                    + "; ".join(block.describe() for block in blocked)
                )

    def loop_blocks(self) -> list[LoopBlock]:
        """Episodes in which a request's own code held the loop beyond the threshold (the
        harness's own work on the loop, such as loading demo data, has no route; a slow
        callback on an overloaded machine is not a blocking one: see LoopBlock.blocking)."""
        return [
            block for block in self.gateway.loop_monitor.blocks if block.route_id and block.blocking
        ]

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on the server's own loop (through its bridge) and wait."""
        return self.gateway.bridge.run(coro, timeout=60)

    def reset_data(self, *, anchor: Any) -> None:
        """Wipe every table and load the demo data again (without any simulated latency)."""
        url = self.settings.database_url

        async def reset() -> None:
            db = Database(url)
            await db.connect()
            try:
                await wipe(db)
                await load_demo(db, now=anchor)
            finally:
                await db.close()
            self.gateway.bridge.resource.caches.clear()  # e.g. app config read before

        self.run(reset())
