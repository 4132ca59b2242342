"""Full-text search over OCR text behind one function, whatever the database.

SQLite: the ``pages_fts`` FTS5 table (external content, kept in step by triggers).
PostgreSQL: the generated ``pages.text_tsv`` column with its GIN index.
Both are made by the first migration. The user's query is reduced to words and every word must
match (AND), so no query can inject FTS syntax or SQL: the words travel as bound parameters.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import ColumnElement, Select, false, literal_column, select, text
from sqlalchemy.orm import Session

from cloud.db.models import Document, Page

_WORD = re.compile(r"\w+", re.UNICODE)
MAX_TERMS = 16


def terms(query: str) -> list[str]:
    """The words of a search query, lower-cased, at most ``MAX_TERMS``."""
    return [w.lower() for w in _WORD.findall(query)][:MAX_TERMS]


def page_match(dialect: str, query: str) -> ColumnElement[bool]:
    """A condition on ``pages`` true for pages whose OCR text contains every word of ``query``."""
    words = terms(query)
    if not words:
        return false()
    if dialect == "sqlite":
        # Each word quoted so FTS5 reads it as a plain string ("" escapes a quote; \\w has none).
        fts_query = " AND ".join(f'"{w}"' for w in words)
        sub: Select[Any] = (
            select(literal_column("rowid"))
            .select_from(text("pages_fts"))
            .where(text("pages_fts MATCH :fts_q").bindparams(fts_q=fts_query))
        )
        return Page.id.in_(sub)
    if dialect == "postgresql":
        return text("pages.text_tsv @@ plainto_tsquery('simple', :ts_q)").bindparams(ts_q=" ".join(words))  # type: ignore[return-value]
    raise ValueError(f"no full-text search for dialect {dialect}")


def document_match(dialect: str, query: str) -> ColumnElement[bool]:
    """A condition on ``documents``: some page of the document matches ``query``."""
    matching = select(Page.document_id).where(page_match(dialect, query))
    if dialect == "sqlite":
        # "+documents.id" stops SQLite from driving the query from the match list (fetch every
        # matching document, then sort them all): it walks the list's order index instead and
        # probes the match set, stopping after one page of results. A common word matching a
        # third of the pages costs a page of probes, not a sort of the third.
        return literal_column("+documents.id").in_(matching)
    return Document.id.in_(matching)


def search_pages(session: Session, query: str, limit: int = 50) -> list[Page]:
    """Pages whose text matches ``query``, newest first."""
    dialect = session.get_bind().dialect.name
    stmt = (
        select(Page)
        .where(page_match(dialect, query))
        .order_by(Page.captured_at.desc(), Page.id.desc())
        .limit(limit)
    )
    return list(session.scalars(stmt))
