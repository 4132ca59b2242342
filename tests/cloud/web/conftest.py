"""Dashboard fixtures: the real app on a SQLite file, seeded through the real write path, with
one user per role."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from cloud.app import create_app
from cloud.auth.passwords import hash_password
from cloud.config import CloudConfig
from cloud.db.engine import session_scope
from cloud.db.models import User
from tests.cloud.web.seed import seed

PASSWORD = "correct horse battery"
ROLES = ("admin", "reviewer", "viewer")


def make_app(tmp: Path, n: int = 60, **web: Any) -> Flask:
    cfg = CloudConfig.model_validate(
        {
            "database": {"url": f"sqlite:///{tmp / 'cloud.db'}"},
            "web": {"images_dir": str(tmp / "images"), "secret_key": "k" * 48, **web},
        }
    )
    app = create_app(cfg, testing=True)
    engine = app.extensions["signet"].engine
    with app.app_context():
        from cloud.web import deps

        seed(engine, deps.put_image, n=n)
    with session_scope(engine) as s:
        for role in ROLES:
            s.add(User(username=role, password_hash=hash_password(PASSWORD), role=role))
    return app


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """One seeded app per test module (seeding and password hashing dominate the cost); tests
    that change data pick their own documents."""
    a = make_app(tmp_path_factory.mktemp("web"))
    yield a
    a.extensions["signet"].engine.dispose()


def login(client: FlaskClient, role: str) -> str:
    """Log in through the real login form; returns the session's CSRF token."""
    token = csrf_of(client.get("/login").data.decode())
    r = client.post("/login", data={"username": role, "password": PASSWORD, "csrf_token": token})
    assert r.status_code in (302, 303), r.data[:500]
    return csrf_of(client.get("/documents").data.decode())


def csrf_of(page: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert m, "no CSRF token in the page"
    return m.group(1)


_clients: dict[tuple[int, str], tuple[FlaskClient, str]] = {}


@pytest.fixture
def as_role(app: Flask) -> Any:
    """A logged-in client per role (logged in once per app: argon2 is deliberately slow)."""

    def make(role: str) -> tuple[FlaskClient, str]:
        key = (id(app), role)
        if key not in _clients:
            c = app.test_client()
            _clients[key] = (c, login(c, role))
        return _clients[key]

    return make
