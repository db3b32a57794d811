"""The catalogue's request rules as Pydantic models, used by both halves.

The async half declares them as FastAPI parameters; the legacy half validates
`request.args` / the JSON body against the same models. One set of rules and one
translation of validation errors (`validation.py`) keep the two halves' 400s identical.
"""
