"""`/api/analytics`: see ../shared/spec/api.md."""

from __future__ import annotations

from flask import Blueprint

analytics = Blueprint("analytics", __name__, url_prefix="/api/analytics")
