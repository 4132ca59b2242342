"""Cloud fixtures: every storage and API test runs on SQLite and on PostgreSQL.

Migrating a fresh database for each test is slow on a busy machine, so each backend is migrated
once per session into a template (a SQLite file copied per test; a PostgreSQL template database
cloned with CREATE DATABASE ... TEMPLATE). The migrations themselves are tested on fresh
databases in tests/cloud/db/test_migrations.py.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from cloud.db.engine import make_engine
from cloud.db.migrate import upgrade

PG_BASE = os.environ.get("SIGNET_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tmpl") / "template.db"
    eng = make_engine(f"sqlite:///{path}")
    upgrade(eng)
    with eng.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    eng.dispose()
    return path


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    psycopg = pytest.importorskip("psycopg", reason="psycopg not installed (cloud extra)")
    name = "signet_tmpl_" + uuid.uuid4().hex[:10]
    try:
        admin = psycopg.connect(PG_BASE, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL not reachable at {PG_BASE} ({exc}); scripts/setup starts it")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = PG_BASE.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + "/" + name
    eng = make_engine(url)
    upgrade(eng)
    eng.dispose()
    try:
        yield name
    finally:
        with psycopg.connect(PG_BASE, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def pg_session_url(pg_template: str) -> Iterator[str]:
    """One PostgreSQL database for the session, cloned from the template; emptied between tests."""
    import psycopg

    name = "signet_test_" + uuid.uuid4().hex[:12]
    with psycopg.connect(PG_BASE, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"')
    try:
        yield PG_BASE.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + "/" + name
    finally:
        with psycopg.connect(PG_BASE, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# Tables whose rows come from the migrations and must survive the emptying between tests.
SEEDED = {"alembic_version", "document_types"}


def _empty_postgres(url: str) -> None:
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        tables = [
            r[0]
            for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            if r[0] not in SEEDED
        ]
        if tables:
            conn.execute("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE")


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database at the latest schema with no rows: a SQLite file or a PostgreSQL database."""
    if request.param == "sqlite":
        target = tmp_path / "cloud.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), target)
        return f"sqlite:///{target}"
    url = str(request.getfixturevalue("pg_session_url"))
    _empty_postgres(url)
    return url


@pytest.fixture(autouse=True, scope="session")
def _cheap_password_hashing() -> None:
    """argon2id with small work factors: the same code path, a fraction of the CPU."""
    from cloud.auth.passwords import set_cost

    set_cost(time_cost=1, memory_cost_kib=1024)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on a database at the latest schema."""
    eng = make_engine(db_url)
    try:
        yield eng
    finally:
        eng.dispose()
