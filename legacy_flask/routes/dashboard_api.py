"""`/api/dashboard`: see ../shared/spec/api.md."""

from __future__ import annotations

from flask import Blueprint

dashboard = Blueprint("dashboard", __name__, url_prefix="/api/dashboard")
