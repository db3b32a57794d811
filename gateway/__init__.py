"""The strangler-fig gateway: one ASGI root in front of the Flask and FastAPI halves."""
