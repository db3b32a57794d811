"""`/api/config`: see docs/api.md."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from legacy_flask.auth import require_admin
from legacy_flask.extensions import run, runtime
from legacy_flask.validation import body
from shared import app_config
from shared.contracts.config import ConfigKeyPath, ConfigValueUpdate
from shared.contracts.validation import validate

config = Blueprint("config", __name__, url_prefix="/api/config")


@config.get("")
def public_config() -> Response:
    return jsonify(run(app_config.public_config(runtime())))


@config.get("/features")
def features() -> Response:
    return jsonify(features=run(app_config.feature_flags(runtime())))


@config.get("/<key>")
def get_value(key: str) -> Response:
    path = validate(ConfigKeyPath, {"key": key})
    return jsonify(run(app_config.config_value(runtime(), key=path.key)))


@config.put("/<key>")
def set_value(key: str) -> Response:
    actor = require_admin()
    path = validate(ConfigKeyPath, {"key": key})
    update = body(ConfigValueUpdate)
    rt = runtime()
    return jsonify(
        run(app_config.set_config_value(rt, key=path.key, value=update.value, actor=actor))
    )


@config.post("/reload")
def reload() -> Response:
    require_admin()
    return jsonify(run(app_config.reload_config(runtime())))
