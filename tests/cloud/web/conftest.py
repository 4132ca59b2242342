"""Dashboard fixtures: the real app on a SQLite file, seeded through the real write path, with
one user per role."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.cloud.web.harness import PASSWORD, make_app


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
