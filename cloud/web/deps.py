"""What the dashboard takes from the rest of the cloud app: the request's database session and
settings (cloud.context), the signed-in user, role checks, CSRF and audit (cloud.auth), the
page-image store and the export endpoint (cloud.api).

Kept in one module so the page code reads the same whatever the other parts' internals are.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import current_app, url_for
from sqlalchemy.orm import Session
from werkzeug.routing import BuildError

from cloud import context
from cloud.auth import core as auth
from cloud.config import WebConfig
from edge.config import EdgeConfig

log = logging.getLogger(__name__)


def session() -> Session:
    """The request's SQLAlchemy session (shared with auth's audit log; closed at teardown)."""
    return context.db()


def close_session(_exc: BaseException | None = None) -> None:
    """Nothing to do: cloud.context closes the request session."""


def web_config() -> WebConfig:
    return context.settings().web


def edge_config() -> EdgeConfig:
    """Settings for the upload pipeline: the edge defaults (model paths relative to the repo)."""
    extra = context.state().extras.get("edge_config")
    return extra if isinstance(extra, EdgeConfig) else EdgeConfig()


def require(role: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Login plus at least ``role`` (viewer < reviewer < admin), enforced by cloud.auth."""
    return auth.require_role(role)


def current_user() -> dict[str, Any] | None:
    p = auth.current_principal()
    if p is None:
        return None
    return {"name": p.name, "role": p.role, "id": p.user_id}


def current_user_id() -> int | None:
    p = auth.current_principal()
    return p.user_id if p else None


def has_role(role: str) -> bool:
    p = auth.current_principal()
    return bool(p and p.has_role(role))


def csrf_token() -> str:
    return auth.csrf_token()


def audit(action: str, target: str | None, details: dict[str, Any]) -> None:
    """Audit-log an action in the request's session (the caller commits)."""
    auth.audit(action, target, details)


def _url(endpoint: str, **values: Any) -> str | None:
    if endpoint not in current_app.view_functions:
        return None
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return None


def logout_url() -> str | None:
    return _url("auth.logout")


def export_url(fmt: str, args: dict[str, Any]) -> str | None:
    """The API's streamed export of the filtered documents (the session cookie authenticates it)."""
    return _url("api.documents_export", format=fmt, **args)


def _images_root() -> Path:
    return Path(web_config().images_dir)


def image_url(sha256: str) -> str | None:
    """Where the browser fetches a page image from the cloud image store, if it holds it."""
    try:
        from cloud.api.images import stored_image
    except ImportError:  # a trimmed app without the API (some tests) has no image store
        return None
    if stored_image(_images_root(), sha256) is None:
        return None
    return _url("api.image_get", sha256=sha256)


def put_image(data: bytes) -> str:
    """Store a page image in the cloud image store (content-addressed, atomic); returns its sha256."""
    from cloud.api.images import image_path

    sha = hashlib.sha256(data).hexdigest()
    target = image_path(_images_root(), sha)
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".web-")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, target)
    return sha
