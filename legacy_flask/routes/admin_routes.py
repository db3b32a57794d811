"""`/admin`: see ../shared/spec/api.md."""

from __future__ import annotations

from flask import Blueprint

admin = Blueprint("admin", __name__, url_prefix="/admin")
