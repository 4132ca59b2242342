"""The seeded dashboard app used by the web tests and the browser tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask

from cloud.app import create_app
from cloud.auth.passwords import hash_password
from cloud.config import CloudConfig
from cloud.db.engine import make_engine, session_scope
from cloud.db.migrate import upgrade
from cloud.db.models import User
from tests.cloud.web.seed import seed

PASSWORD = "correct horse battery"
ROLES = ("admin", "reviewer", "viewer")


def make_app(tmp: Path, n: int = 60, database_url: str | None = None, **web: Any) -> Flask:
    """The real app on ``database_url`` (default: a SQLite file in ``tmp``), seeded with ``n``
    documents and one user per role."""
    cfg = CloudConfig.model_validate(
        {
            "database": {"url": database_url or f"sqlite:///{tmp / 'cloud.db'}"},
            "web": {"images_dir": str(tmp / "images"), "secret_key": "k" * 48, **web},
        }
    )
    if database_url:  # the app migrates SQLite itself; PostgreSQL is migrated by `signet cloud db upgrade`
        engine = make_engine(database_url)
        upgrade(engine)
        engine.dispose()
    app = create_app(cfg, testing=True)
    engine = app.extensions["signet"].engine
    with app.app_context():
        from cloud.web import deps

        seed(engine, deps.put_image, n=n)
    with session_scope(engine) as s:
        for role in ROLES:
            s.add(User(username=role, password_hash=hash_password(PASSWORD), role=role))
    return app
