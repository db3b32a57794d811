"""`/api/events`: see ../shared/spec/api.md."""

from __future__ import annotations

from flask import Blueprint

events = Blueprint("events", __name__, url_prefix="/api/events")
