"""Every registered route × every role: the access each view declares is what it enforces.

Routes come from the app's URL map (ours and every listed blueprint: dashboard, registry), so a
new route is checked the day it is added. A view with no declaration fails this test.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from werkzeug.routing import IntegerConverter, Rule

from cloud.auth.core import RANK, _password_version, access_of
from cloud.db.engine import make_engine, session_scope
from cloud.db.models import User
from tests.cloud.appsupport import add_users, device_token, make_app

ROLES = (None, "viewer", "reviewer", "admin")
SAMPLE_ARGS = {"sha256": "0" * 64, "device_id": "kiosk-01", "job_id": "nojob", "name": "x", "version": "1"}
DENIED = {401, 403}

# Access this suite expects for some routes, whatever the decorators say (a guard against a
# decorator quietly weakened): (endpoint, method) -> minimum role / 'device' / 'public'.
PINNED = {
    ("auth.users", "GET"): "admin",
    ("auth.users_create", "POST"): "admin",
    ("auth.users_update", "POST"): "admin",
    ("auth.tokens_create", "POST"): "admin",
    ("auth.tokens_revoke", "POST"): "admin",
    ("auth.audit_log", "GET"): "admin",
    ("api.dead_letters", "GET"): "admin",
    ("api.documents_list", "GET"): "viewer",
    ("api.documents_export", "GET"): "viewer",
    ("api.image_get", "GET"): "viewer",
    ("api.image_put", "PUT"): "device",
    ("auth.login", "POST"): "public",
    ("metrics.metrics", "GET"): "public",
}


@pytest.fixture
def app(sqlite_template: Path, tmp_path: Path) -> Flask:
    # Access control does not depend on the database: SQLite only, to keep the matrix quick.
    db = tmp_path / "cloud.db"
    shutil.copy(sqlite_template, db)
    url = f"sqlite:///{db}"
    engine: Engine = make_engine(url)
    add_users(engine)
    device_token(engine)
    app = make_app(engine, url, tmp_path)
    app.config["engine"] = engine
    return app


def client_as(app: Flask, role: str | None) -> tuple[FlaskClient, str]:
    """A client with a session for ``role`` (or anonymous) and its CSRF token."""
    c = app.test_client()
    with c.session_transaction() as sess:
        sess["csrf"] = "csrf-for-matrix"
        if role:
            with session_scope(app.config["engine"]) as s:
                user = s.scalars(select(User).where(User.username == role)).one()
                sess["uid"] = user.id
                sess["pwv"] = _password_version(user)
    return c, "csrf-for-matrix"


def routes(app: Flask) -> list[tuple[Rule, str]]:
    out = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.endpoint.endswith(".static"):
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            out.append((rule, method))
    return out


def build(rule: Rule) -> str:
    path = rule.rule
    for arg in rule.arguments:
        conv = rule._converters[arg]  # type: ignore[attr-defined]
        value = "1" if isinstance(conv, IntegerConverter) else SAMPLE_ARGS.get(arg, "x")
        path = path.replace(f"<{rule._converters[arg].__class__.__name__}:{arg}>", value)  # type: ignore[attr-defined]
        for pattern in (f"<int:{arg}>", f"<path:{arg}>", f"<{arg}>", f"<string:{arg}>"):
            path = path.replace(pattern, value)
    return path


def test_every_route_declares_its_access(app: Flask) -> None:
    missing = [
        f"{m} {r.rule} ({r.endpoint})"
        for r, m in routes(app)
        if access_of(app.view_functions[r.endpoint]) is None
    ]
    assert missing == [], "views without public/require_role/require_token"


def test_pinned_routes_keep_their_access(app: Flask) -> None:
    for (endpoint, _method), expected in PINNED.items():
        kind, arg = access_of(app.view_functions[endpoint]) or (None, None)
        got = "public" if kind == "public" else ("device" if (kind, arg) == ("token", "device") else arg)
        assert got == expected, endpoint


def test_every_route_times_every_role_is_allowed_exactly_as_declared(app: Flask) -> None:
    failures = []
    checked = 0
    for rule, method in routes(app):
        kind, arg = access_of(app.view_functions[rule.endpoint]) or ("none", None)
        path = build(rule)
        if kind == "role":
            assert arg is not None
            # The state-changing routes that send data: an admin-only route must not be less.
            if rule.rule.startswith("/admin"):
                assert arg == "admin", f"{rule.rule} under /admin must need admin"
        for role in ROLES:
            c, csrf = client_as(app, role)
            kwargs: dict[str, object] = {"method": method}
            if method in ("POST", "PUT", "PATCH", "DELETE"):
                kwargs["headers"] = {"X-CSRF-Token": csrf}
                kwargs["data"] = {"csrf_token": csrf}
            r = c.open(path, **kwargs)  # type: ignore[arg-type]
            r.get_data()
            r.close()
            checked += 1
            denied = r.status_code in DENIED or (
                r.status_code == 302
                and "/login" in r.headers.get("Location", "")
                and rule.endpoint != "auth.home"
                and rule.endpoint != "auth.logout"
            )
            if kind == "public":
                # A public route may answer 401 on its own terms (wrong password), never 403.
                denied = r.status_code == 403
                should_deny = False
            elif kind == "role":
                should_deny = role is None or RANK[role] < RANK[arg]  # type: ignore[index]
            else:  # bearer tokens only: no session is enough
                should_deny = True
            if denied != should_deny:
                failures.append(
                    f"{method} {path} as {role or 'anonymous'}: {r.status_code} (declared {kind}:{arg})"
                )
            if r.status_code >= 500:
                failures.append(f"{method} {path} as {role or 'anonymous'}: server error {r.status_code}")
    assert failures == []
    assert checked >= 4 * 20


def test_given_a_device_token_then_only_device_routes_admit_it(app: Flask) -> None:
    token = device_token(app.config["engine"])
    failures = []
    for rule, method in routes(app):
        kind, arg = access_of(app.view_functions[rule.endpoint]) or ("none", None)
        if kind == "public":
            continue
        r = app.test_client().open(build(rule), method=method, headers={"Authorization": f"Bearer {token}"})
        admitted = r.status_code not in DENIED and not (
            r.status_code == 302 and "/login" in r.headers.get("Location", "")
        )
        if admitted != ((kind, arg) in {("token", "device"), ("token", "any")}):
            failures.append(f"{method} {rule.rule}: {r.status_code}")
    assert failures == []
