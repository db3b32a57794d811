"""The async half on its own, without the gateway (used by the benchmark)."""

from async_api.app import create_app

app = create_app()
