"""GET /api/v1/documents/export: a filtered set as CSV or JSON, streamed in constant memory.

Rows come from a server-side cursor (PostgreSQL) or SQLite's lazy cursor, ``yield_per`` at a
time, and leave as they are read; nothing holds the whole set. CSV cells that a spreadsheet would
run as a formula (OCR text is untrusted) are prefixed with an apostrophe.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

from flask import Response, request, stream_with_context
from sqlalchemy import Select, select

from cloud import context
from cloud.api import bp
from cloud.api.query import BadParam, DocumentFilter, apply_filter, order_by, parse_filter
from cloud.auth import require_role
from cloud.db.engine import session_factory
from cloud.db.models import Document
from edge.contract import utcnow

COLUMNS = (
    "id", "captured_at", "site", "device", "doc_type", "type_confidence", "needs_review",
    "signature_count", "page_count", "status", "source_uri",
)  # fmt: skip
BATCH = 2000
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(v: Any) -> Any:
    """Neutralise spreadsheet formulas in text cells (CSV injection)."""
    if isinstance(v, str) and v.startswith(FORMULA_START):
        return "'" + v
    return v


def export_rows(engine: Any, f: DocumentFilter) -> Iterator[tuple[Any, ...]]:
    """Yield export tuples for the filter, ``BATCH`` rows in memory at most."""
    cols = (
        Document.id, Document.captured_at, Document.site_id, Document.device_id, Document.doc_type,
        Document.type_confidence, Document.needs_review, Document.signature_count, Document.page_count,
        Document.status, Document.source_uri,
    )  # fmt: skip
    with session_factory(engine)() as s:
        base: Select[Any] = select(*cols)  # type: ignore[assignment]
        stmt = order_by(apply_filter(base, f, engine.dialect.name), f)
        result = s.execute(stmt.execution_options(stream_results=True, yield_per=BATCH))
        for row in result:
            yield tuple(row)


def csv_stream(rows: Iterator[tuple[Any, ...]]) -> Iterator[str]:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(COLUMNS)
    for n, row in enumerate(rows, 1):
        w.writerow([safe_cell(v.isoformat() if hasattr(v, "isoformat") else v) for v in row])
        if n % 500 == 0:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()


def json_stream(rows: Iterator[tuple[Any, ...]]) -> Iterator[str]:
    yield "["
    first = True
    chunk: list[str] = []
    for row in rows:
        doc = {
            k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in zip(COLUMNS, row, strict=True)
        }
        chunk.append(("" if first else ",") + "\n" + json.dumps(doc, ensure_ascii=False))
        first = False
        if len(chunk) >= 500:
            yield "".join(chunk)
            chunk = []
    yield "".join(chunk) + "\n]\n"


@bp.get("/documents/export")
@require_role("viewer")
def documents_export() -> Any:
    fmt = request.args.get("format", "csv")
    if fmt not in ("csv", "json"):
        raise BadParam("format must be csv or json")
    f = parse_filter(request.args)
    rows = export_rows(context.engine(), f)
    stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
    if fmt == "csv":
        body, mime = csv_stream(rows), "text/csv"
    else:
        body, mime = json_stream(rows), "application/json"
    resp = Response(stream_with_context(body), mimetype=mime)
    resp.headers["Content-Disposition"] = f'attachment; filename="signet-documents-{stamp}.{fmt}"'
    return resp
