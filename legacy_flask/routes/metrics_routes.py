"""`/api/metrics`: see ../shared/spec/api.md."""

from __future__ import annotations

from flask import Blueprint

metrics = Blueprint("metrics", __name__, url_prefix="/api/metrics")
