"""`/api/config`: see ../shared/spec/api.md."""

from __future__ import annotations

from flask import Blueprint

config = Blueprint("config", __name__, url_prefix="/api/config")
