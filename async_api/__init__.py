"""The async half: FastAPI, `async def` all the way down, organised by domain."""
