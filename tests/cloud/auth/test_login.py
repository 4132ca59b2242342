"""Logging in and out: argon2 hashes, cookie flags, CSRF, throttling, audit, safe redirects."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from sqlalchemy import Engine, select

from cloud.db.engine import session_scope
from cloud.db.models import AuditLog, User
from tests.cloud.appsupport import PASSWORD, add_users, csrf_from, login, make_app


def test_given_the_right_password_when_logging_in_then_a_hardened_session_cookie_is_set(app: Flask) -> None:
    c = app.test_client()
    token = csrf_from(c)
    r = c.post("/login", data={"username": "viewer", "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 302
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert c.get("/api/v1/documents").status_code == 200


def test_given_secure_cookies_configured_then_the_cookie_is_secure(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    add_users(engine)
    app = make_app(engine, db_url, tmp_path, secure_cookies=True)
    c = app.test_client()
    token = csrf_from(c)
    r = c.post("/login", data={"username": "viewer", "password": PASSWORD, "csrf_token": token})
    assert "Secure" in r.headers["Set-Cookie"]
    assert "Strict-Transport-Security" in r.headers


def test_given_a_wrong_password_then_login_fails_and_is_audited(app: Flask, engine: Engine) -> None:
    c = app.test_client()
    r = c.post("/login", data={"username": "admin", "password": "nope", "csrf_token": csrf_from(c)})
    assert r.status_code == 401
    assert "Wrong username or password" in r.get_data(as_text=True)
    assert c.get("/api/v1/documents").status_code == 401
    with session_scope(engine) as s:
        assert [a.action for a in s.scalars(select(AuditLog))] == ["login_failed"]
        stored = s.scalars(select(User).where(User.username == "admin")).one().password_hash
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


def test_given_no_csrf_token_when_posting_the_login_form_then_it_is_refused(app: Flask) -> None:
    c = app.test_client()
    c.get("/login")
    r = c.post("/login", data={"username": "admin", "password": PASSWORD})
    assert r.status_code == 400
    r = c.post("/login", data={"username": "admin", "password": PASSWORD, "csrf_token": "forged"})
    assert r.status_code == 400


def test_given_many_failures_then_further_logins_are_throttled_even_with_the_right_password(
    app: Flask,
) -> None:
    c = app.test_client()
    token = csrf_from(c)
    for _ in range(5):
        assert (
            c.post("/login", data={"username": "admin", "password": "bad", "csrf_token": token}).status_code
            == 401
        )
    r = c.post("/login", data={"username": "admin", "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 429
    # Another user is not locked out by attacks on admin.
    assert (
        c.post("/login", data={"username": "viewer", "password": PASSWORD, "csrf_token": token}).status_code
        == 302
    )


def test_given_an_external_next_url_then_login_redirects_home_instead(app: Flask) -> None:
    c = app.test_client()
    token = csrf_from(c)
    for evil in ("https://evil.example/", "//evil.example/x", "javascript:alert(1)"):
        r = c.post(
            "/login", data={"username": "viewer", "password": PASSWORD, "csrf_token": token, "next": evil}
        )
        assert r.status_code == 302
        assert "evil" not in r.headers["Location"] and "javascript" not in r.headers["Location"]
        token = csrf_from(c)


def test_given_a_logged_in_user_when_logging_out_then_the_session_ends(app: Flask) -> None:
    c = app.test_client()
    csrf = login(c, "reviewer")
    assert c.post("/logout", data={"csrf_token": csrf}).status_code == 302
    assert c.get("/api/v1/documents").status_code == 401


def test_given_a_disabled_user_then_the_existing_session_stops_working(app: Flask, engine: Engine) -> None:
    c = app.test_client()
    login(c, "viewer")
    with session_scope(engine) as s:
        s.scalars(select(User).where(User.username == "viewer")).one().active = False
    assert c.get("/api/v1/documents").status_code == 401


def test_given_an_admin_when_creating_a_user_then_the_action_is_in_the_audit_log(
    app: Flask, engine: Engine
) -> None:
    c = app.test_client()
    csrf = login(c, "admin")
    r = c.post(
        "/admin/users",
        data={"username": "carol", "password": "long enough pw", "role": "reviewer", "csrf_token": csrf},
    )
    assert r.status_code == 303
    r = c.post(
        "/admin/users", data={"username": "dave", "password": "short", "role": "viewer", "csrf_token": csrf}
    )
    assert r.status_code == 303
    with session_scope(engine) as s:
        assert s.scalars(select(User).where(User.username == "carol")).one().role == "reviewer"
        assert s.scalars(select(User).where(User.username == "dave")).first() is None
        entry = s.scalars(select(AuditLog).where(AuditLog.action == "user_create")).one()
        assert entry.actor == "admin" and entry.target == "carol" and entry.details == {"role": "reviewer"}
    page = c.get("/admin/audit").get_data(as_text=True)
    assert "user_create" in page and "carol" in page
