"""API tokens and device tokens: hashed at rest, revocable, each admitted only where it belongs."""

from __future__ import annotations

import hashlib

from flask import Flask
from sqlalchemy import Engine, select

from cloud.db.engine import session_scope
from cloud.db.models import ApiToken
from tests.cloud.appsupport import api_token, device_token, login

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def test_given_an_api_token_then_it_reads_the_api_and_only_its_hash_is_stored(
    app: Flask, engine: Engine
) -> None:
    token = api_token(engine, "viewer")
    c = app.test_client()
    assert c.get("/api/v1/documents", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert c.get("/api/v1/documents", headers={"Authorization": "Bearer sgt_wrong"}).status_code == 401
    assert c.get("/api/v1/dead-letters", headers={"Authorization": f"Bearer {token}"}).status_code == 403
    with session_scope(engine) as s:
        row = s.scalars(select(ApiToken)).one()
        assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert token not in (row.token_hash, row.prefix)
        assert row.last_used is not None


def test_given_a_revoked_token_then_it_is_refused(app: Flask, engine: Engine) -> None:
    token = api_token(engine, "admin", name="ci")
    c = app.test_client()
    csrf = login(c, "admin")
    with session_scope(engine) as s:
        tid = s.scalars(select(ApiToken)).one().id
    assert c.post(f"/admin/tokens/{tid}/revoke", data={"csrf_token": csrf}).status_code == 303
    assert (
        app.test_client().get("/api/v1/documents", headers={"Authorization": f"Bearer {token}"}).status_code
        == 401
    )


def test_given_an_admin_creates_a_token_in_the_page_then_it_is_shown_once_and_works(app: Flask) -> None:
    c = app.test_client()
    csrf = login(c, "admin")
    html = c.post("/admin/tokens", data={"name": "grafana", "role": "viewer", "csrf_token": csrf}).get_data(
        as_text=True
    )
    token = html.split('data-testid="new-token">')[1].split("<")[0]
    assert token.startswith("sgt_")
    assert (
        app.test_client().get("/api/v1/devices", headers={"Authorization": f"Bearer {token}"}).status_code
        == 200
    )
    assert token not in c.get("/admin/users").get_data(as_text=True)


def test_given_a_device_token_then_it_uploads_images_but_reads_nothing(app: Flask, engine: Engine) -> None:
    token = device_token(engine)
    c = app.test_client()
    sha = hashlib.sha256(PNG).hexdigest()
    r = c.put(f"/api/v1/images/{sha}", data=PNG, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 201
    assert c.get("/api/v1/documents", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert c.get(f"/api/v1/images/{sha}", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_given_bearer_requests_then_no_csrf_token_is_needed_but_sessions_need_one(
    app: Flask, engine: Engine
) -> None:
    dev = device_token(engine)
    c = app.test_client()
    sha = hashlib.sha256(PNG).hexdigest()
    assert (
        c.put(f"/api/v1/images/{sha}", data=PNG, headers={"Authorization": f"Bearer {dev}"}).status_code
        == 201
    )
    # A viewer session cannot upload anyway, and an unauthenticated PUT is refused before anything.
    c2 = app.test_client()
    login(c2, "admin")
    assert c2.put(f"/api/v1/images/{sha}", data=PNG).status_code == 400  # no CSRF header
