"""Migrations: the schema they build is the one the models describe, and they go down and up."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

from cloud.db.migrate import current_revision, downgrade, head_revision, upgrade
from cloud.db.models import Base


def test_given_a_migrated_database_then_models_and_schema_agree(engine: Engine) -> None:
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": False}), Base.metadata)
    # The search index objects are not mapped on purpose (pages_fts, text_tsv).
    diff = [d for d in diff if "pages_fts" not in str(d) and "text_tsv" not in str(d)]
    assert diff == []
    assert current_revision(engine) == head_revision()


def test_given_head_when_downgraded_to_base_and_back_then_tables_return(engine: Engine) -> None:
    downgrade(engine, "base")
    assert "pages" not in inspect(engine).get_table_names()
    upgrade(engine)
    upgrade(engine)  # idempotent
    assert "pages" in inspect(engine).get_table_names()
