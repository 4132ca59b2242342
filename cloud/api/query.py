"""Document filters, sorting and cursor pagination, shared by the list, the export and the pages.

Cursor (keyset) pagination: the cursor carries the last row's sort value and id, and the next page
starts strictly after it using a row-value comparison that the ``(column, captured_at, id)``
indexes serve. Unlike OFFSET, page 10,000 costs the same as page 1 and rows arriving meanwhile
never shift a page.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, literal, select, tuple_
from sqlalchemy.orm import InstrumentedAttribute

from cloud.db.models import Document
from cloud.db.search import document_match
from edge.contract import DEVICE_ID_RE, DOC_TYPES

SORTS: dict[str, InstrumentedAttribute[Any]] = {
    "captured_at": Document.captured_at,
    "signature_count": Document.signature_count,
    "type_confidence": Document.type_confidence,
    "page_count": Document.page_count,
}
MAX_LIMIT = 500
DEFAULT_LIMIT = 50


class BadParam(ValueError):
    """A query parameter that cannot be used; the message names it."""


@dataclass
class DocumentFilter:
    sites: list[str] = field(default_factory=list)
    devices: list[str] = field(default_factory=list)
    types: list[str] = field(default_factory=list)
    date_from: datetime | None = None
    date_to: datetime | None = None
    min_signatures: int | None = None
    max_signatures: int | None = None
    signed: bool | None = None
    needs_review: bool | None = None
    status: str | None = None
    q: str | None = None
    sort: str = "captured_at"
    order: str = "desc"


def _list(args: Mapping[str, Any], name: str) -> list[str]:
    getlist = getattr(args, "getlist", None)
    raw = getlist(name) if getlist else ([args[name]] if name in args else [])
    out: list[str] = []
    for item in raw:
        out.extend(x.strip() for x in str(item).split(",") if x.strip())
    return out


def _bool(args: Mapping[str, Any], name: str) -> bool | None:
    v = args.get(name)
    if v is None or v == "":
        return None
    s = str(v).lower()
    if s in ("true", "1", "yes"):
        return True
    if s in ("false", "0", "no"):
        return False
    raise BadParam(f"{name} must be true or false, got {v!r}")


def _int(args: Mapping[str, Any], name: str, lo: int = 0, hi: int = 10_000) -> int | None:
    v = args.get(name)
    if v is None or v == "":
        return None
    try:
        n = int(str(v))
    except ValueError:
        raise BadParam(f"{name} must be an integer, got {v!r}") from None
    if not lo <= n <= hi:
        raise BadParam(f"{name} must be between {lo} and {hi}")
    return n


def parse_when(value: str, name: str, end: bool = False) -> datetime:
    """ISO date (the whole day) or datetime; naive values are UTC."""
    try:
        if len(value) == 10:
            d = date.fromisoformat(value)
            dt = datetime.combine(d, time.max if end else time.min)
        else:
            dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadParam(f"{name} must be an ISO date or datetime, got {value!r}") from None
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def parse_filter(args: Mapping[str, Any]) -> DocumentFilter:
    """Read the documented query parameters; anything malformed raises BadParam."""
    f = DocumentFilter()
    f.sites = _list(args, "site")
    f.devices = _list(args, "device")
    for d in f.devices:
        if not DEVICE_ID_RE.match(d):
            raise BadParam(f"device {d!r} is not a valid device id")
    f.types = _list(args, "type")
    for t in f.types:
        if t not in DOC_TYPES:
            raise BadParam(f"type {t!r} is not one of {', '.join(DOC_TYPES)}")
    if args.get("from"):
        f.date_from = parse_when(str(args["from"]), "from")
    if args.get("to"):
        f.date_to = parse_when(str(args["to"]), "to", end=True)
    f.min_signatures = _int(args, "min_signatures")
    f.max_signatures = _int(args, "max_signatures")
    f.signed = _bool(args, "signed")
    f.needs_review = _bool(args, "needs_review")
    status = args.get("status")
    if status:
        if status not in ("ok", "partial", "failed"):
            raise BadParam("status must be ok, partial or failed")
        f.status = str(status)
    q = args.get("q")
    if q:
        if len(str(q)) > 500:
            raise BadParam("q must be at most 500 characters")
        f.q = str(q)
    sort = str(args.get("sort") or "captured_at")
    if sort not in SORTS:
        raise BadParam(f"sort must be one of {', '.join(SORTS)}")
    f.sort = sort
    order = str(args.get("order") or "desc")
    if order not in ("asc", "desc"):
        raise BadParam("order must be asc or desc")
    f.order = order
    return f


def apply_filter(stmt: Select[Any], f: DocumentFilter, dialect: str) -> Select[Any]:
    conds: list[ColumnElement[bool]] = []
    if f.sites:
        conds.append(Document.site_id.in_(f.sites))
    if f.devices:
        conds.append(Document.device_id.in_(f.devices))
    if f.types:
        conds.append(Document.doc_type.in_(f.types))
    if f.date_from:
        conds.append(Document.captured_at >= f.date_from)
    if f.date_to:
        conds.append(Document.captured_at <= f.date_to)
    if f.min_signatures is not None:
        conds.append(Document.signature_count >= f.min_signatures)
    if f.max_signatures is not None:
        conds.append(Document.signature_count <= f.max_signatures)
    if f.signed is True:
        conds.append(Document.signature_count > 0)
    elif f.signed is False:
        conds.append(Document.signature_count == 0)
    if f.needs_review is not None:
        conds.append(Document.needs_review.is_(f.needs_review))
    if f.status:
        conds.append(Document.status == f.status)
    if f.q:
        conds.append(document_match(dialect, f.q))
    return stmt.where(and_(*conds)) if conds else stmt


def order_by(stmt: Select[Any], f: DocumentFilter) -> Select[Any]:
    col = SORTS[f.sort]
    if f.order == "desc":
        return stmt.order_by(col.desc(), Document.id.desc())
    return stmt.order_by(col.asc(), Document.id.asc())


def encode_cursor(f: DocumentFilter, doc: Document) -> str:
    value = getattr(doc, SORTS[f.sort].key)
    if isinstance(value, datetime):
        value = value.isoformat()
    raw = json.dumps([f.sort, f.order, value, doc.id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def after_cursor(stmt: Select[Any], f: DocumentFilter, cursor: str) -> Select[Any]:
    """Rows strictly after the cursor's row in the current order."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        sort, order, value, last_id = json.loads(raw)
    except (ValueError, binascii.Error, TypeError):
        raise BadParam("cursor is not one this API returned") from None
    if sort != f.sort or order != f.order or not isinstance(last_id, int):
        raise BadParam("cursor belongs to a different sort order; start again without it")
    col = SORTS[f.sort]
    try:
        if f.sort == "captured_at":
            value = datetime.fromisoformat(str(value))
        elif f.sort == "type_confidence":
            value = float(value)
        else:
            value = int(value)
    except (ValueError, TypeError):
        raise BadParam("cursor is not one this API returned") from None
    key = tuple_(col, Document.id)
    bound = tuple_(literal(value, col.type), literal(last_id, Document.id.type))
    return stmt.where(key < bound if f.order == "desc" else key > bound)


def documents_query(f: DocumentFilter, dialect: str) -> Select[Any]:
    return order_by(apply_filter(select(Document), f, dialect), f)
