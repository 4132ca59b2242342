"""Reads shared by the REST API and the dashboard."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from cloud.db.models import Document, Page


def load_document(session: Session, doc_id: int) -> Document | None:
    """A document with its pages and everything read on them, loaded in a few queries."""
    return session.scalar(
        select(Document)
        .where(Document.id == doc_id)
        .options(
            selectinload(Document.pages).selectinload(Page.signatures),
            selectinload(Document.pages).selectinload(Page.fields),
            selectinload(Document.pages).selectinload(Page.line_items),
            selectinload(Document.pages).selectinload(Page.checks),
        )
    )
