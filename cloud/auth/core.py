"""Who is asking and what they may do: sessions, bearer tokens, roles, CSRF, audit.

Every view must declare its access with ``public``, ``require_role`` or ``require_token``; a view
with no declaration is refused (default deny), so a forgotten decorator fails closed. The role
matrix test walks every registered route with each role.

Roles are ordered: viewer < reviewer < admin. ``require_role("reviewer")`` admits reviewers and
admins.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import wraps
from typing import Any, Literal, TypeVar, cast

from flask import abort, current_app, g, request, session
from sqlalchemy import func, or_, select

from cloud import context
from cloud.auth.tokens import find_api_token, hash_token
from cloud.db.models import ROLES, AuditLog, Device, User
from edge.contract import utcnow

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])
RANK = {"viewer": 0, "reviewer": 1, "admin": 2}
ACCESS_ATTR = "_signet_access"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class Principal:
    """The authenticated caller: a logged-in user, an API token or a device."""

    kind: Literal["user", "token", "device"]
    name: str
    role: str | None  # None for devices: they have no dashboard role
    user_id: int | None = None
    device_id: str | None = None

    def has_role(self, minimum: str) -> bool:
        return self.role is not None and RANK[self.role] >= RANK[minimum]


# -- declaring access -----------------------------------------------------------------------


def public(view: F) -> F:
    """Mark a view as open to anyone (login page, health check, metrics)."""
    setattr(view, ACCESS_ATTR, ("public", None))
    return view


def require_role(*roles: str) -> Callable[[F], F]:
    """Admit a user or API token holding at least the given role (the lowest one named)."""
    for r in roles:
        if r not in RANK:
            raise ValueError(f"unknown role {r!r}; expected one of {', '.join(ROLES)}")
    minimum = min(roles, key=RANK.__getitem__) if roles else "viewer"

    def deco(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            p = current_principal()
            if p is None or p.kind == "device":
                abort(401)
            if not p.has_role(minimum):
                abort(403)
            return view(*args, **kwargs)

        setattr(wrapper, ACCESS_ATTR, ("role", minimum))
        return cast(F, wrapper)

    return deco


def require_token(kind: Literal["device", "api", "any"] = "any", role: str = "viewer") -> Callable[[F], F]:
    """Admit only bearer tokens: ``device`` tokens, ``api`` tokens (with ``role``), or either."""

    def deco(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            p = bearer_principal()
            if p is None:
                abort(401)
            if kind == "device" and p.kind != "device":
                abort(403)
            if kind == "api" and (p.kind != "token" or not p.has_role(role)):
                abort(403)
            if kind == "any" and p.kind == "token" and not p.has_role(role):
                abort(403)
            return view(*args, **kwargs)

        setattr(wrapper, ACCESS_ATTR, ("token", kind))
        return cast(F, wrapper)

    return deco


def access_of(view: Callable[..., Any]) -> tuple[str, str | None] | None:
    """The access declaration of a view function, or None when it has none."""
    return getattr(view, ACCESS_ATTR, None)


# -- finding the caller ---------------------------------------------------------------------


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def bearer_principal() -> Principal | None:
    """The caller named by an ``Authorization: Bearer`` header, if the token is live."""
    if "_signet_bearer" in g:
        return cast(Principal | None, g._signet_bearer)
    token = bearer_token()
    p: Principal | None = None
    if token:
        s = context.db()
        row = find_api_token(s, token)
        if row is not None:
            p = Principal("token", f"token:{row.name}", row.role, user_id=row.user_id)
            row.last_used = utcnow()
            s.commit()
        else:
            dev = s.scalars(select(Device).where(Device.token_hash == hash_token(token))).first()
            if dev is not None and dev.revoked_at is None:
                p = Principal("device", f"device:{dev.id}", None, device_id=dev.id)
    g._signet_bearer = p
    return p


def session_principal() -> Principal | None:
    """The logged-in user of the session cookie, if still active."""
    uid = session.get("uid")
    if uid is None:
        return None
    user = context.db().get(User, uid)
    if user is None or not user.active or session.get("pwv") != _password_version(user):
        session.clear()
        return None
    return Principal("user", user.username, user.role, user_id=user.id)


def current_principal() -> Principal | None:
    """Bearer token first (API clients, devices), else the session user."""
    if "_signet_principal" not in g:
        g._signet_principal = bearer_principal() if bearer_token() else session_principal()
    return cast(Principal | None, g._signet_principal)


def _password_version(user: User) -> str:
    # Changing the password (or role) ends the user's other sessions: the cookie carries this tag.
    return hash_token(f"{user.id}:{user.password_hash}:{user.role}")[:16]


def login_session(user: User) -> None:
    """Start a fresh session for ``user`` (new CSRF token: no session fixation)."""
    session.clear()
    session.permanent = True
    session["uid"] = user.id
    session["pwv"] = _password_version(user)
    session["csrf"] = secrets.token_urlsafe(32)


def logout_session() -> None:
    session.clear()


# -- CSRF -----------------------------------------------------------------------------------


def csrf_token() -> str:
    """The session's CSRF token (made on first use); forms put it in a hidden ``csrf_token`` field."""
    tok = session.get("csrf")
    if not tok:
        tok = secrets.token_urlsafe(32)
        session["csrf"] = tok
    return str(tok)


def check_csrf() -> None:
    """Refuse a state-changing request from a browser session without the session's token.

    Bearer-token requests carry no ambient credentials (no cookie does the authenticating), so
    they cannot be forged cross-site and need no CSRF token.
    """
    if request.method not in UNSAFE_METHODS or bearer_token():
        return
    expected = session.get("csrf")
    sent = request.headers.get(CSRF_HEADER) or request.form.get(CSRF_FIELD)
    if not expected or not sent or not hmac.compare_digest(str(expected), str(sent)):
        abort(400, description="missing or wrong CSRF token: reload the page and try again")


def enforce_access() -> None:
    """before_request: default deny for views that declared no access, then CSRF."""
    if request.endpoint is None:
        return  # 404/405 handled by Flask
    if request.endpoint == "static" or request.endpoint.endswith(".static"):
        return
    view = current_app.view_functions.get(request.endpoint)
    if view is None or access_of(view) is None:
        log.error("refused %s: view %s declares no access rule", request.path, request.endpoint)
        abort(403)
    check_csrf()


# -- login throttling and audit -------------------------------------------------------------


def login_throttled(username: str, ip: str | None) -> bool:
    """Too many recent failed logins for this username or from this address.

    Counted from the audit log, so every worker process (and replica) sees the same count.
    """
    web = context.settings().web
    since = utcnow() - timedelta(seconds=web.login_window_s)
    conds = [AuditLog.target == username]
    s = context.db()
    n_user = s.scalar(
        select(func.count())
        .select_from(AuditLog)
        .where(AuditLog.action == "login_failed", AuditLog.at >= since, or_(*conds))
    )
    if (n_user or 0) >= web.login_max_failures:
        return True
    if ip:
        n_ip = s.scalar(
            select(func.count())
            .select_from(AuditLog)
            .where(AuditLog.action == "login_failed", AuditLog.at >= since, AuditLog.ip == ip)
        )
        if (n_ip or 0) >= web.login_max_failures * 4:
            return True
    return False


def audit(
    action: str, target: str | None = None, details: dict[str, Any] | None = None, actor: str | None = None
) -> None:
    """Record an action in the audit log (added to the request's session; the caller commits)."""
    p = current_principal() if request else None
    context.db().add(
        AuditLog(
            at=utcnow(),
            user_id=p.user_id if p else None,
            actor=actor or (p.name if p else "anonymous"),
            action=action,
            target=target,
            details=details or {},
            ip=request.remote_addr if request else None,
        )
    )
