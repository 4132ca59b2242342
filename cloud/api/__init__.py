"""The REST API at /api/v1 (JSON). Routes live in the modules imported at the bottom."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from cloud.api.query import BadParam

bp = Blueprint("api", __name__, url_prefix="/api/v1")


@bp.errorhandler(BadParam)
def _bad_param(exc: BadParam) -> Any:
    resp = jsonify({"error": "bad_request", "message": str(exc), "status": 400})
    resp.status_code = 400
    return resp


from cloud.api import documents, export, fleet, images, openapi  # noqa: E402, F401  (routes register on import)
