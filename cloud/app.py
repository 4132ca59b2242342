"""The Flask app factory: settings in, app out. Blueprints are listed here by module name."""

from __future__ import annotations

import importlib
import logging
import secrets
from datetime import timedelta
from typing import Any

from flask import Blueprint, Flask, Response, jsonify, render_template, request
from sqlalchemy import Engine
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter

from cloud import context
from cloud.auth.core import csrf_token, current_principal, enforce_access
from cloud.config import CloudConfig
from cloud.db.engine import make_engine
from cloud.db.migrate import is_current, upgrade

log = logging.getLogger(__name__)

# (module, attribute) of every blueprint, registered in this order. Each part adds its own line.
BLUEPRINTS: list[tuple[str, str]] = [
    ("cloud.auth.views", "bp"),
    ("cloud.api", "bp"),
    ("cloud.web", "bp"),
    ("cloud.registry.web", "bp"),
    ("cloud.metrics", "bp"),
]

# Script and style only from us (no CDN, no inline script); images may be data: or blob: URLs
# (the review page draws boxes over blobs).
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


class RowIdConverter(IntegerConverter):
    """`<int:...>` in our routes names a database row: an id past a signed 64-bit integer can
    name nothing, so it is a 404 rather than an overflow inside the database driver."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", 2**63 - 1)
        super().__init__(map, *args, **kwargs)


class BlueprintMissing(RuntimeError):
    pass


def load_blueprint(module: str, attr: str) -> Blueprint:
    """Import one listed blueprint; a missing module or attribute is a clear error."""
    try:
        mod = importlib.import_module(module)
    except ImportError as exc:
        raise BlueprintMissing(f"blueprint module {module} cannot be imported: {exc}") from exc
    bp = getattr(mod, attr, None)
    if not isinstance(bp, Blueprint):
        raise BlueprintMissing(f"{module}.{attr} is not a Flask Blueprint")
    return bp


def create_app(
    cfg: CloudConfig,
    *,
    engine: Engine | None = None,
    blueprints: list[tuple[str, str]] | None = None,
    testing: bool = False,
) -> Flask:
    """Build the cloud app for ``cfg`` (the engine may be passed in, e.g. by tests)."""
    app = Flask(__name__, template_folder="auth/templates")
    app.url_map.converters["int"] = RowIdConverter  # before any route is added
    app.config.update(
        TESTING=testing,
        SECRET_KEY=_secret_key(cfg),
        SESSION_COOKIE_NAME="signet_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=cfg.web.secure_cookies,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=cfg.web.session_hours),
        # Uploads larger than the larger of the two limits are cut off by Werkzeug before we read them.
        MAX_CONTENT_LENGTH=int(max(cfg.web.max_upload_mb, cfg.web.max_image_mb) * 1024 * 1024) + 64 * 1024,
        JSON_SORT_KEYS=False,
    )
    eng = engine or make_engine(cfg.database.url, echo=cfg.database.echo)
    _prepare_schema(eng, cfg)
    context.init_state(app, cfg, eng)

    app.before_request(enforce_access)
    app.after_request(_security_headers)
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.jinja_env.globals["current_principal"] = current_principal
    for code in (400, 401, 403, 404, 405, 409, 413, 415, 422, 429, 500):
        app.register_error_handler(code, _error)
    app.register_error_handler(Exception, _unexpected)

    for module, attr in blueprints if blueprints is not None else BLUEPRINTS:
        app.register_blueprint(load_blueprint(module, attr))
    from cloud.metrics import init_metrics

    init_metrics(app)
    return app


def _secret_key(cfg: CloudConfig) -> str:
    if cfg.web.secret_key:
        return cfg.web.secret_key
    if cfg.web.secret_key_file:
        key = cfg.web.secret_key_file.read_text(encoding="utf-8").strip()
        if len(key) < 16:
            raise ValueError(f"{cfg.web.secret_key_file}: the session key must be at least 16 characters")
        return key
    log.warning("web.secret_key is not set: sessions will not survive a restart (set SIGNET_WEB__SECRET_KEY)")
    return secrets.token_urlsafe(48)


def _prepare_schema(engine: Engine, cfg: CloudConfig) -> None:
    if engine.dialect.name == "sqlite" and cfg.web.migrate_on_start:
        upgrade(engine)
    elif not is_current(engine):
        log.error("database schema is not current: run `signet cloud db upgrade`")


def _security_headers(resp: Response) -> Response:
    h = resp.headers
    h.setdefault("X-Content-Type-Options", "nosniff")
    h.setdefault("X-Frame-Options", "DENY")
    h.setdefault("Referrer-Policy", "same-origin")
    h.setdefault("Content-Security-Policy", CSP)
    h.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if context.settings().web.secure_cookies:
        h.setdefault("Strict-Transport-Security", "max-age=31536000")
    if request.path.startswith("/api/") or request.path.startswith("/login"):
        h.setdefault("Cache-Control", "no-store")
    return resp


def wants_json() -> bool:
    return (
        request.path.startswith("/api/")
        or request.path == "/metrics"
        or (request.accept_mimetypes.best_match(["application/json", "text/html"]) == "application/json")
    )


def _error(exc: HTTPException) -> Any:
    code = exc.code or 500
    if code == 401 and not wants_json():
        from flask import redirect, url_for

        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    message = exc.description if code < 500 else "internal error"
    if wants_json():
        resp = jsonify({"error": exc.name.lower().replace(" ", "_"), "message": message, "status": code})
        resp.status_code = code
        if code == 429 and exc.response is not None:
            resp.headers["Retry-After"] = exc.response.headers.get("Retry-After", "60")
        return resp
    return render_template("auth/error.html", code=code, name=exc.name, message=message), code


def _unexpected(exc: Exception) -> Any:
    if isinstance(exc, HTTPException):
        return _error(exc)
    log.exception("unhandled error on %s %s", request.method, request.path)
    from werkzeug.exceptions import InternalServerError

    return _error(InternalServerError())
