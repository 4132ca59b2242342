"""Login, logout and the admin pages for users, API tokens and the audit log."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select
from werkzeug.exceptions import TooManyRequests

from cloud import context
from cloud.auth.core import (
    audit,
    current_principal,
    login_session,
    login_throttled,
    logout_session,
    public,
    require_role,
)
from cloud.auth.passwords import (
    DUMMY_HASH,
    WeakPassword,
    check_strength,
    hash_password,
    needs_rehash,
    verify_password,
)
from cloud.auth.tokens import create_api_token
from cloud.db.models import ROLES, ApiToken, AuditLog, User
from edge.contract import utcnow

log = logging.getLogger(__name__)

bp = Blueprint("auth", __name__, template_folder="templates")


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths: an open redirect after login would help phishing."""
    if not target:
        return url_for("auth.home")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("auth.home")
    return target


@bp.get("/")
@public
def home() -> Any:
    """Send people to the dashboard when it is installed, else to the API description."""
    p = current_principal()
    if p is None:
        return redirect(url_for("auth.login"))
    from flask import current_app

    for endpoint in ("web.fleet", "web.documents"):
        if endpoint in current_app.view_functions:
            return redirect(url_for(endpoint))
    return render_template("auth/home.html", principal=p)


@bp.route("/login", methods=["GET", "POST"])
@public
def login() -> Any:
    if request.method == "GET":
        return render_template("auth/login.html", next=request.args.get("next", ""))
    username = (request.form.get("username") or "").strip()[:100]
    password = request.form.get("password") or ""
    nxt = request.form.get("next") or ""
    s = context.db()
    if login_throttled(username, request.remote_addr):
        audit("login_throttled", target=username, actor=username or "anonymous")
        s.commit()
        exc = TooManyRequests("too many failed logins: wait a few minutes and try again")
        raise exc
    user = s.scalars(select(User).where(User.username == username)).first()
    ok = (
        verify_password(user.password_hash if user else DUMMY_HASH, password)
        and user is not None
        and user.active
    )
    if not ok or user is None:
        audit("login_failed", target=username, actor=username or "anonymous")
        s.commit()
        return render_template("auth/login.html", next=nxt, error="Wrong username or password."), 401
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login = utcnow()
    login_session(user)
    audit("login", target=username, actor=username)
    s.commit()
    return redirect(_safe_next(nxt))


@bp.post("/logout")
@public
def logout() -> Any:
    p = current_principal()
    if p is not None:
        audit("logout", target=p.name)
        context.db().commit()
    logout_session()
    return redirect(url_for("auth.login"))


# -- admin: users ---------------------------------------------------------------------------


@bp.get("/admin/users")
@require_role("admin")
def users() -> Any:
    s = context.db()
    rows = list(s.scalars(select(User).order_by(User.username)))
    tokens = list(s.scalars(select(ApiToken).order_by(ApiToken.created_at.desc())))
    return render_template("auth/users.html", users=rows, tokens=tokens, roles=ROLES, new_token=None)


@bp.post("/admin/users")
@require_role("admin")
def users_create() -> Any:
    s = context.db()
    username = (request.form.get("username") or "").strip()
    role = request.form.get("role") or ""
    password = request.form.get("password") or ""
    error = None
    if not username or len(username) > 100:
        error = "username is required (at most 100 characters)"
    elif role not in ROLES:
        error = f"role must be one of {', '.join(ROLES)}"
    elif s.scalars(select(User).where(User.username == username)).first() is not None:
        error = f"user {username} already exists"
    else:
        try:
            check_strength(password)
        except WeakPassword as exc:
            error = str(exc)
    if error:
        flash(error, "error")
        return redirect(url_for("auth.users")), 303
    s.add(User(username=username, password_hash=hash_password(password), role=role, created_at=utcnow()))
    audit("user_create", target=username, details={"role": role})
    s.commit()
    flash(f"user {username} created", "ok")
    return redirect(url_for("auth.users")), 303


@bp.post("/admin/users/<int:user_id>")
@require_role("admin")
def users_update(user_id: int) -> Any:
    s = context.db()
    user = s.get(User, user_id)
    if user is None:
        abort(404)
    p = current_principal()
    changes: dict[str, Any] = {}
    role = request.form.get("role")
    if role:
        if role not in ROLES:
            abort(400, description=f"role must be one of {', '.join(ROLES)}")
        if role != user.role:
            changes["role"] = [user.role, role]
            user.role = role
    active = request.form.get("active")
    if active in ("0", "1") and bool(int(active)) != user.active:
        changes["active"] = [user.active, bool(int(active))]
        user.active = bool(int(active))
    if p and p.user_id == user.id and (user.role != "admin" or not user.active):
        abort(400, description="you cannot remove your own admin role or disable yourself")
    if changes:
        audit("user_update", target=user.username, details=changes)
    s.commit()
    return redirect(url_for("auth.users")), 303


# -- admin: API tokens ----------------------------------------------------------------------


@bp.post("/admin/tokens")
@require_role("admin")
def tokens_create() -> Any:
    s = context.db()
    name = (request.form.get("name") or "").strip()[:100]
    role = request.form.get("role") or "viewer"
    if not name or role not in ROLES:
        abort(400, description=f"a token needs a name and a role in {', '.join(ROLES)}")
    p = current_principal()
    row, token = create_api_token(s, name, role, user_id=p.user_id if p else None)
    audit("token_create", target=name, details={"role": role, "prefix": row.prefix})
    s.commit()
    rows = list(s.scalars(select(User).order_by(User.username)))
    tokens = list(s.scalars(select(ApiToken).order_by(ApiToken.created_at.desc())))
    # Shown once, now; only its hash is kept.
    return render_template("auth/users.html", users=rows, tokens=tokens, roles=ROLES, new_token=token)


@bp.post("/admin/tokens/<int:token_id>/revoke")
@require_role("admin")
def tokens_revoke(token_id: int) -> Any:
    s = context.db()
    row = s.get(ApiToken, token_id)
    if row is None:
        abort(404)
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        audit("token_revoke", target=row.name, details={"prefix": row.prefix})
    s.commit()
    return redirect(url_for("auth.users")), 303


@bp.get("/admin/audit")
@require_role("admin")
def audit_log() -> Any:
    s = context.db()
    rows = list(s.scalars(select(AuditLog).order_by(AuditLog.at.desc(), AuditLog.id.desc()).limit(500)))
    return render_template("auth/audit.html", rows=rows)
