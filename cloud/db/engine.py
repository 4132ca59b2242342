"""Engines and sessions: SQLite (WAL, foreign keys, busy timeout) or PostgreSQL (psycopg)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 10_000


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # Why each: WAL lets the dashboard read while ingest writes; foreign keys are off by default
    # in SQLite; the busy timeout makes a second writer wait instead of failing at once.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def make_engine(url: str, echo: bool = False) -> Engine:
    """Create an engine for ``sqlite:///path`` or ``postgresql+psycopg://...``.

    For a SQLite file the parent folder is created. ``postgresql://`` is taken to mean psycopg 3.
    """
    u = make_url(url)
    if u.drivername == "postgresql":
        u = u.set(drivername="postgresql+psycopg")
    if u.get_backend_name() == "sqlite":
        if u.database and u.database != ":memory:":
            Path(u.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(u, echo=echo, connect_args={"check_same_thread": False, "timeout": 10})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if u.get_backend_name() == "postgresql":
        return create_engine(u, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=10)
    raise ValueError(f"unsupported database URL {url!r}: use sqlite:///... or postgresql+psycopg://...")


_makers: dict[int, sessionmaker[Session]] = {}


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """One sessionmaker per engine (``expire_on_commit=False`` so rows stay usable after commit)."""
    maker = _makers.get(id(engine))
    if maker is None or maker.kw.get("bind") is not engine:
        maker = sessionmaker(bind=engine, expire_on_commit=False)
        _makers[id(engine)] = maker
    return maker


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on any exception."""
    session = session_factory(engine)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
