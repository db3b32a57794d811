"""`uvicorn gateway.asgi:app`: the gateway built from the environment's settings."""

from gateway.app import create_gateway

app = create_gateway()
