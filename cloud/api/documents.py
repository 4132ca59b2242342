"""GET /api/v1/documents (filters, sorting, cursor pagination) and GET /api/v1/documents/<id>."""

from __future__ import annotations

from typing import Any

from flask import abort, request
from sqlalchemy import select

from cloud import context
from cloud.api import bp
from cloud.api.query import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    BadParam,
    after_cursor,
    documents_query,
    encode_cursor,
    parse_filter,
)
from cloud.api.serialize import document_summary, page_detail, review_entry
from cloud.auth import require_role
from cloud.db.models import Review, User
from cloud.db.read import load_document


def _limit() -> int:
    raw = request.args.get("limit")
    if raw in (None, ""):
        return DEFAULT_LIMIT
    try:
        n = int(raw)
    except ValueError:
        raise BadParam(f"limit must be an integer, got {raw!r}") from None
    if not 1 <= n <= MAX_LIMIT:
        raise BadParam(f"limit must be between 1 and {MAX_LIMIT}")
    return n


@bp.get("/documents")
@require_role("viewer")
def documents_list() -> Any:
    f = parse_filter(request.args)
    limit = _limit()
    s = context.db()
    stmt = documents_query(f, s.get_bind().dialect.name)
    cursor = request.args.get("cursor")
    if cursor:
        stmt = after_cursor(stmt, f, cursor)
    rows = list(s.scalars(stmt.limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "items": [document_summary(d) for d in rows],
        "next_cursor": encode_cursor(f, rows[-1]) if more and rows else None,
        "limit": limit,
    }


@bp.get("/documents/<int:doc_id>")
@require_role("viewer")
def document_get(doc_id: int) -> Any:
    s = context.db()
    doc = load_document(s, doc_id)
    if doc is None:
        abort(404, description=f"no document {doc_id}")
    page_ids = [p.id for p in doc.pages]
    history = []
    if page_ids:
        for r, username in s.execute(
            select(Review, User.username)
            .outerjoin(User, User.id == Review.user_id)
            .where(Review.page_id.in_(page_ids))
            .order_by(Review.at, Review.id)
        ):
            history.append(review_entry(r, username))
    out = document_summary(doc)
    out["pages"] = [page_detail(p) for p in doc.pages]
    out["history"] = history
    return out
