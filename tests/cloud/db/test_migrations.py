"""Migrations on fresh databases: they build the schema the models describe, and go down and up."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, select

from cloud.db.engine import make_engine, session_scope
from cloud.db.migrate import current_revision, downgrade, head_revision, upgrade
from cloud.db.models import Base, DocumentType
from edge.contract import DOC_TYPES


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    url = (
        f"sqlite:///{tmp_path / 'fresh.db'}"
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    eng = make_engine(url)
    try:
        yield eng
    finally:
        eng.dispose()


def test_given_an_empty_database_when_upgraded_then_models_and_schema_agree(fresh: Engine) -> None:
    assert current_revision(fresh) is None
    upgrade(fresh)
    with fresh.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": False}), Base.metadata)
    # The search index objects are not mapped on purpose (pages_fts, text_tsv).
    diff = [d for d in diff if "pages_fts" not in str(d) and "text_tsv" not in str(d)]
    assert diff == []
    assert current_revision(fresh) == head_revision()
    with session_scope(fresh) as s:
        assert {t.label for t in s.scalars(select(DocumentType))} == set(DOC_TYPES)


def test_given_head_when_downgraded_to_base_and_back_then_tables_return(fresh: Engine) -> None:
    upgrade(fresh)
    downgrade(fresh, "base")
    assert "pages" not in inspect(fresh).get_table_names()
    upgrade(fresh)
    upgrade(fresh)  # idempotent
    assert "pages" in inspect(fresh).get_table_names()
