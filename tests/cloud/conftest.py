"""Cloud fixtures: every storage and API test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from cloud.db.engine import make_engine
from cloud.db.migrate import upgrade


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated-to-nothing database URL: a SQLite file, or a scratch PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'cloud.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on a database migrated to the latest schema."""
    eng = make_engine(db_url)
    upgrade(eng)
    try:
        yield eng
    finally:
        eng.dispose()
