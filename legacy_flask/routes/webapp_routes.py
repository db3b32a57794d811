"""`/webapp`: see ../shared/spec/api.md."""

from __future__ import annotations

from flask import Blueprint

webapp = Blueprint("webapp", __name__, url_prefix="/webapp")
