"""Helpers for tests that drive the Flask app: users per role, logged-in clients, tokens."""

from __future__ import annotations

import re
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine

from cloud.app import create_app
from cloud.auth.passwords import hash_password
from cloud.auth.tokens import create_api_token, hash_token
from cloud.config import CloudConfig
from cloud.db.engine import session_scope
from cloud.db.models import Device, Site, User
from edge.contract import utcnow

PASSWORD = "correct horse battery"
ROLES = ("admin", "reviewer", "viewer")
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def make_cfg(db_url: str, tmp_path: Path, **web: object) -> CloudConfig:
    return CloudConfig.model_validate(
        {
            "database": {"url": db_url},
            "web": {
                "secret_key": "test-secret-key-0123456789abcdef",
                "images_dir": str(tmp_path / "images"),
                **web,
            },
            # The Models page (registry blueprint) talks to MLflow: a local store, never a server.
            "mlflow": {
                "tracking_uri": f"sqlite:///{tmp_path / 'mlflow.db'}",
                "packages_dir": str(tmp_path / "packages"),
                "state_db": str(tmp_path / "rollouts.db"),
            },
        }
    )


def make_app(engine: Engine, db_url: str, tmp_path: Path, **web: object) -> Flask:
    return create_app(make_cfg(db_url, tmp_path, **web), engine=engine, testing=True)


def add_users(engine: Engine) -> None:
    """One user per role, named after the role, all with PASSWORD."""
    h = hash_password(PASSWORD)
    with session_scope(engine) as s:
        for role in ROLES:
            s.add(User(username=role, password_hash=h, role=role, created_at=utcnow()))


def csrf_from(client: FlaskClient, path: str = "/login") -> str:
    html = client.get(path).get_data(as_text=True)
    m = _CSRF.search(html)
    assert m, f"no csrf token on {path}"
    return m.group(1)


def login(client: FlaskClient, username: str, password: str = PASSWORD) -> str:
    """Log in through the form; returns the session's CSRF token."""
    token = csrf_from(client)
    r = client.post("/login", data={"username": username, "password": password, "csrf_token": token})
    assert r.status_code == 302, r.get_data(as_text=True)[:500]
    with client.session_transaction() as sess:
        return str(sess["csrf"])


def api_token(engine: Engine, role: str, name: str | None = None) -> str:
    with session_scope(engine) as s:
        _, token = create_api_token(s, name or f"{role}-token", role)
    return token


def device_token(engine: Engine, device_id: str = "kiosk-01", site: str = "paris-01") -> str:
    token = "sgd_test_" + device_id
    with session_scope(engine) as s:
        if s.get(Site, site) is None:
            s.add(Site(id=site, created_at=utcnow()))
            s.flush()
        dev = s.get(Device, device_id)
        if dev is None:
            s.add(
                Device(
                    id=device_id, site_id=site, token_hash=hash_token(token), created_at=utcnow(), versions={}
                )
            )
        else:
            dev.token_hash = hash_token(token)
    return token
