"""The REST API at /api/v1 (JSON). Routes live in the modules imported at the bottom."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request

from cloud.api.query import BadParam

bp = Blueprint("api", __name__, url_prefix="/api/v1")


@bp.before_request
def _refuse_nul() -> None:
    # PostgreSQL text cannot hold NUL; refuse it up front instead of failing in the driver.
    for value in [*request.args.values(), *(request.view_args or {}).values()]:
        if isinstance(value, str) and "\x00" in value:
            raise BadParam("parameters must not contain NUL characters")


@bp.errorhandler(BadParam)
def _bad_param(exc: BadParam) -> Any:
    resp = jsonify({"error": "bad_request", "message": str(exc), "status": 400})
    resp.status_code = 400
    return resp


from cloud.api import documents, export, fleet, images, openapi  # noqa: E402, F401  (routes register on import)
