"""Read-side queries for the dashboard pages, written against ``cloud.db.models``.

Every query is bounded (a window of days, a LIMIT, or an indexed filter) so pages stay fast with
a million pages stored. Date bucketing uses SQL ``date()``, which SQLite and PostgreSQL both have;
SQLite returns text and PostgreSQL a ``date``, so buckets are normalised with ``str``.
"""

from __future__ import annotations

import logging
import statistics
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from sqlalchemy import Select, and_, case, false, func, or_, select
from sqlalchemy.orm import Session, selectinload

from cloud.db.models import (
    CheckRow,
    DeadLetter,
    Device,
    Document,
    DocumentType,
    FieldRow,
    Page,
    Review,
    SignatureBox,
)
from cloud.db.search import document_match
from cloud.web.clients import BUYER_KEYS, DATE_KEYS, SELLER_KEYS, TOTAL_KEYS, InvoiceRow, parse_amount, pick

log = logging.getLogger(__name__)

PAGE_SIZE = 50
SORTS = {
    "captured": Document.captured_at,
    "type": Document.doc_type,
    "confidence": Document.type_confidence,
    "signatures": Document.signature_count,
    "pages": Document.page_count,
    "site": Document.site_id,
    "device": Document.device_id,
}


def days_back(today: date, n: int) -> list[str]:
    """The last ``n`` ISO days ending with ``today``, oldest first."""
    return [(today - timedelta(days=n - 1 - i)).isoformat() for i in range(n)]


# -- fleet ----------------------------------------------------------------------------------


@dataclass
class DeviceRow:
    id: str
    site: str | None
    online: bool
    last_seen: datetime | None
    backlog: int
    fps: float | None
    cpu_temp: float | None
    gpu_temp: float | None
    versions: dict[str, Any]
    volume: list[int]
    pages_total: int = 0


def fleet(session: Session, now: datetime, days: int = 14) -> list[DeviceRow]:
    """Every device with its last health and a per-day page volume over ``days`` days."""
    since = datetime.combine(now.date() - timedelta(days=days - 1), datetime.min.time(), tzinfo=now.tzinfo)
    day = func.date(Page.captured_at)
    counts: dict[str, dict[str, int]] = {}
    for dev, d, n in session.execute(
        select(Page.device_id, day, func.count())
        .where(Page.captured_at >= since)
        .group_by(Page.device_id, day)
    ):
        counts.setdefault(dev, {})[str(d)] = n
    buckets = days_back(now.date(), days)
    out = []
    for d in session.scalars(select(Device).order_by(Device.site_id, Device.id)):
        h = d.last_health or {}
        per_day = counts.get(d.id, {})
        out.append(
            DeviceRow(
                id=d.id,
                site=d.site_id,
                online=bool(d.online) and d.revoked_at is None,
                last_seen=d.last_seen,
                backlog=int(h.get("outbox_backlog", d.outbox_backlog) or 0),
                fps=h.get("fps"),
                cpu_temp=h.get("cpu_temp_c"),
                gpu_temp=h.get("gpu_temp_c"),
                versions=dict(d.versions or {}),
                volume=[per_day.get(b, 0) for b in buckets],
                pages_total=sum(per_day.values()),
            )
        )
    return out


# -- documents ------------------------------------------------------------------------------


@dataclass
class DocFilter:
    """The documents table's filters, parsed from the query string (bad values are ignored)."""

    site: str | None = None
    device: str | None = None
    doc_type: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    min_sigs: int | None = None
    max_sigs: int | None = None
    signed: bool | None = None
    review: bool | None = None
    q: str | None = None
    sort: str = "captured"
    desc: bool = True
    page: int = 1

    @classmethod
    def from_args(cls, args: Any) -> DocFilter:
        def text(k: str) -> str | None:
            v = (args.get(k) or "").strip()
            return v[:200] or None

        def integer(k: str) -> int | None:
            try:
                return max(0, int(args.get(k, "")))
            except ValueError:
                return None

        def day(k: str) -> date | None:
            try:
                return date.fromisoformat(args.get(k, ""))
            except ValueError:
                return None

        def tri(k: str) -> bool | None:
            v = args.get(k, "")
            return True if v == "yes" else False if v == "no" else None

        sort = args.get("sort", "captured")
        return cls(
            site=text("site"),
            device=text("device"),
            doc_type=text("type"),
            date_from=day("from"),
            date_to=day("to"),
            min_sigs=integer("min_sigs"),
            max_sigs=integer("max_sigs"),
            signed=tri("signed"),
            review=tri("review"),
            q=text("q"),
            sort=sort if sort in SORTS else "captured",
            desc=args.get("dir", "desc") != "asc",
            page=max(1, integer("page") or 1),
        )

    def args(self, **override: Any) -> dict[str, Any]:
        """Query-string arguments that reproduce this filter (for sort links and the pager)."""
        a: dict[str, Any] = {
            "site": self.site,
            "device": self.device,
            "type": self.doc_type,
            "from": self.date_from.isoformat() if self.date_from else None,
            "to": self.date_to.isoformat() if self.date_to else None,
            "min_sigs": self.min_sigs,
            "max_sigs": self.max_sigs,
            "signed": {True: "yes", False: "no"}.get(self.signed) if self.signed is not None else None,
            "review": {True: "yes", False: "no"}.get(self.review) if self.review is not None else None,
            "q": self.q,
            "sort": self.sort,
            "dir": "desc" if self.desc else "asc",
            "page": self.page,
        }
        a.update(override)
        return {k: v for k, v in a.items() if v not in (None, "")}

    def api_args(self) -> dict[str, Any]:
        """The same filter in the REST API's parameter names (for the export links)."""
        a: dict[str, Any] = {
            "site": self.site,
            "device": self.device,
            "type": self.doc_type,
            "from": self.date_from.isoformat() if self.date_from else None,
            "to": self.date_to.isoformat() if self.date_to else None,
            "min_signatures": self.min_sigs,
            "max_signatures": self.max_sigs,
            "signed": None if self.signed is None else str(self.signed).lower(),
            "needs_review": None if self.review is None else str(self.review).lower(),
            "q": self.q,
        }
        return {k: v for k, v in a.items() if v not in (None, "")}


def _apply(stmt: Select[Any], f: DocFilter, dialect: str | None) -> Select[Any]:
    conds = []
    if f.site:
        conds.append(Document.site_id == f.site)
    if f.device:
        conds.append(Document.device_id == f.device)
    if f.doc_type:
        conds.append(Document.doc_type == f.doc_type)
    if f.date_from:
        conds.append(Document.captured_at >= datetime.combine(f.date_from, time.min, tzinfo=timezone.utc))
    if f.date_to:
        end = datetime.combine(f.date_to + timedelta(days=1), time.min, tzinfo=timezone.utc)
        conds.append(Document.captured_at < end)
    if f.min_sigs is not None:
        conds.append(Document.signature_count >= f.min_sigs)
    if f.max_sigs is not None:
        conds.append(Document.signature_count <= f.max_sigs)
    if f.signed is True:
        conds.append(Document.signature_count > 0)
    elif f.signed is False:
        conds.append(Document.signature_count == 0)
    if f.review is not None:
        conds.append(Document.needs_review == f.review)
    if f.q and dialect:
        conds.append(document_match(dialect, f.q))
    return stmt.where(and_(*conds)) if conds else stmt


def documents(session: Session, f: DocFilter, page_size: int = PAGE_SIZE) -> tuple[list[Document], bool]:
    """One page of the documents table and whether there is a next page (text through FTS)."""
    col = SORTS[f.sort]
    first = col.desc() if f.desc else col.asc()
    tie = Document.id.desc() if f.desc else Document.id.asc()
    stmt = _apply(select(Document), f, session.get_bind().dialect.name).order_by(first, tie)
    stmt = stmt.offset((f.page - 1) * page_size).limit(page_size + 1)
    rows = list(session.scalars(stmt))
    return rows[:page_size], len(rows) > page_size


def filter_choices(session: Session) -> dict[str, list[str]]:
    """Values for the filter dropdowns (small tables: sites, devices, types)."""
    return {
        "sites": [
            s for s in session.scalars(select(Device.site_id).distinct().order_by(Device.site_id)) if s
        ],
        "devices": list(session.scalars(select(Device.id).order_by(Device.id))),
        "types": list(session.scalars(select(DocumentType.label).order_by(DocumentType.label))),
    }


def document(session: Session, doc_id: int) -> Document | None:
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


def history(session: Session, page_ids: list[int]) -> list[Review]:
    """Reviewer actions on these pages, newest first."""
    if not page_ids:
        return []
    return list(
        session.scalars(
            select(Review).where(Review.page_id.in_(page_ids)).order_by(Review.at.desc()).limit(200)
        )
    )


# -- review queue ---------------------------------------------------------------------------


def review_condition(session: Session) -> Any:
    """Needs review, or unsigned where the type expects a signature, and not yet reviewed."""
    expecting = list(session.scalars(select(DocumentType.label).where(DocumentType.expects_signature)))
    unsigned = and_(Document.doc_type.in_(expecting), Document.signature_count == 0) if expecting else false()
    return and_(Document.reviewed_at.is_(None), or_(Document.needs_review, unsigned))


def review_queue(
    session: Session, page: int = 1, page_size: int = PAGE_SIZE
) -> tuple[list[Document], bool, int]:
    """One page of the review queue (oldest first, so nothing waits forever) and its size."""
    cond = review_condition(session)
    rows = list(
        session.scalars(
            select(Document)
            .where(cond)
            .order_by(Document.captured_at, Document.id)
            .offset((page - 1) * page_size)
            .limit(page_size + 1)
        )
    )
    total = session.scalar(select(func.count()).select_from(Document).where(cond)) or 0
    return rows[:page_size], len(rows) > page_size, int(total)


# -- aggregates -----------------------------------------------------------------------------


@dataclass
class Aggregates:
    days: list[str]
    per_day: list[int]
    by_site: dict[str, list[int]]
    by_type: list[tuple[str, int]]
    presence: list[tuple[str, int, int]]  # type, documents, signed
    unsigned_contracts: int
    unsigned_recent: list[Document]
    stages: list[tuple[str, float, float, int]]  # stage, median, p95, n
    error_days: list[str]
    pipeline_error_rate: list[float]
    ocr_error_rate: list[float]
    check_fail_rate: float | None
    dead_letters: int
    totals: dict[str, Any] = field(default_factory=dict)


def aggregates(session: Session, now: datetime, days: int = 30, sample: int = 5000) -> Aggregates:
    """Volume, signature presence, unsigned contracts, latency per stage and error rates.

    Latencies and OCR errors live in JSON columns, so they are computed in Python over the most
    recent ``sample`` pages (indexed by capture time) instead of the whole history.
    """
    buckets = days_back(now.date(), days)
    since = datetime.combine(now.date() - timedelta(days=days - 1), datetime.min.time(), tzinfo=now.tzinfo)
    day = func.date(Document.captured_at)
    in_window = Document.captured_at >= since

    per_day = {
        str(d): n for d, n in session.execute(select(day, func.count()).where(in_window).group_by(day))
    }
    by_site: dict[str, dict[str, int]] = {}
    for s, d, n in session.execute(
        select(Document.site_id, day, func.count()).where(in_window).group_by(Document.site_id, day)
    ):
        by_site.setdefault(s, {})[str(d)] = n
    signed = func.sum(case((Document.signature_count > 0, 1), else_=0))
    presence = [
        (t, int(n), int(sg or 0))
        for t, n, sg in session.execute(
            select(Document.doc_type, func.count(), signed)
            .where(in_window)
            .group_by(Document.doc_type)
            .order_by(func.count().desc())
        )
    ]
    unsigned_cond = and_(Document.doc_type == "contract", Document.signature_count == 0)
    unsigned = session.scalar(select(func.count()).select_from(Document).where(unsigned_cond, in_window)) or 0
    unsigned_recent = list(
        session.scalars(select(Document).where(unsigned_cond).order_by(Document.captured_at.desc()).limit(10))
    )

    recent = session.execute(
        select(Page.captured_at, Page.timings_ms, Page.status, Page.errors)
        .order_by(Page.captured_at.desc())
        .limit(sample)
    ).all()
    stage_values: dict[str, list[float]] = {}
    err: dict[str, list[int]] = {}  # day -> [pages, pipeline errors, ocr errors]
    for captured, timings, status, errors in recent:
        for k, v in (timings or {}).items():
            if isinstance(v, int | float):
                stage_values.setdefault(k, []).append(float(v))
        e = err.setdefault(captured.date().isoformat(), [0, 0, 0])
        e[0] += 1
        e[1] += status != "ok"
        e[2] += any("ocr" in str(x).lower() or "tesseract" in str(x).lower() for x in (errors or []))
    stages = []
    for k, vs in sorted(stage_values.items(), key=lambda kv: -statistics.median(kv[1])):
        vs.sort()
        stages.append((k, statistics.median(vs), vs[min(len(vs) - 1, int(0.95 * len(vs)))], len(vs)))
    error_days = sorted(err)[-days:]

    checks = session.execute(
        select(func.count(), func.sum(case((CheckRow.ok, 0), else_=1))).where(
            CheckRow.page_id.in_(
                select(Page.id).order_by(Page.captured_at.desc()).limit(sample).scalar_subquery()
            )
        )
    ).one()
    total_docs = sum(per_day.values())
    return Aggregates(
        days=buckets,
        per_day=[per_day.get(b, 0) for b in buckets],
        by_site={s: [v.get(b, 0) for b in buckets] for s, v in sorted(by_site.items())},
        by_type=[(t, n) for t, n, _ in presence],
        presence=presence,
        unsigned_contracts=int(unsigned),
        unsigned_recent=unsigned_recent,
        stages=stages,
        error_days=error_days,
        pipeline_error_rate=[err[d][1] / err[d][0] for d in error_days],
        ocr_error_rate=[err[d][2] / err[d][0] for d in error_days],
        check_fail_rate=(int(checks[1] or 0) / checks[0]) if checks[0] else None,
        dead_letters=int(session.scalar(select(func.count()).select_from(DeadLetter)) or 0),
        totals={
            "documents": total_docs,
            "signed_rate": (sum(sg for _, _, sg in presence) / total_docs) if total_docs else None,
            "pages_sampled": len(recent),
        },
    )


# -- clients --------------------------------------------------------------------------------


def invoice_rows(session: Session, limit: int = 50_000) -> list[InvoiceRow]:
    """Buyer, seller, date and gross total of the most recent invoices (one row per document)."""
    names = (*BUYER_KEYS, *SELLER_KEYS, *TOTAL_KEYS, *DATE_KEYS, "currency")
    recent = (
        select(Page.id)
        .where(Page.doc_type == "invoice")
        .order_by(Page.captured_at.desc())
        .limit(limit)
        .scalar_subquery()
    )
    per_doc: dict[int, dict[str, Any]] = {}
    for doc_id, captured, name, value in session.execute(
        select(Page.document_id, Page.captured_at, FieldRow.name, FieldRow.value)
        .join(FieldRow, FieldRow.page_id == Page.id)
        .where(Page.id.in_(recent), FieldRow.name.in_(names))
    ):
        d = per_doc.setdefault(doc_id, {"_captured": captured})
        d.setdefault(name, value)  # the first page that has a field wins
    rows = []
    for doc_id, vals in per_doc.items():
        client = pick(vals, BUYER_KEYS)
        total = parse_amount(pick(vals, TOTAL_KEYS))
        if not client or total is None:
            continue
        try:
            day = date.fromisoformat(str(pick(vals, DATE_KEYS))[:10])
        except ValueError:
            day = vals["_captured"].date()
        seller = pick(vals, SELLER_KEYS)
        rows.append(
            InvoiceRow(
                doc_id,
                str(client).strip()[:200],
                str(seller)[:200] if seller else None,
                day,
                total,
                vals.get("currency"),
            )
        )
    return rows


def signature_boxes(session: Session, page_id: int) -> list[SignatureBox]:
    """Boxes currently standing on a page (model boxes a reviewer removed are left out)."""
    return list(
        session.scalars(
            select(SignatureBox)
            .where(SignatureBox.page_id == page_id, ~SignatureBox.removed)
            .order_by(SignatureBox.id)
        )
    )
