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

from sqlalchemy import ColumnElement, Float, Select, String, and_, case, cast, false, func, or_, select
from sqlalchemy.orm import Session, aliased

from cloud.db.models import (
    Alert,
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
from cloud.db.read import load_document
from cloud.db.search import document_match
from cloud.web.clients import ClientSummary

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
    """Every device with its last health and a per-day document volume over ``days`` days."""
    since = datetime.combine(now.date() - timedelta(days=days - 1), time.min, tzinfo=timezone.utc)
    day = func.date(Document.captured_at)
    buckets = days_back(now.date(), days)
    out = []
    for d in session.scalars(select(Device).order_by(Device.site_id, Device.id)):
        h = d.last_health or {}
        # One query per device: (device_id, captured_at) is an index that covers it, so each
        # device's window is read from the index alone.
        per_day = {
            str(k): int(n)
            for k, n in session.execute(
                select(day, func.count())
                .where(Document.device_id == d.id, Document.captured_at >= since)
                .group_by(day)
            )
        }
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


def open_alerts(session: Session, limit: int = 20) -> list[Alert]:
    """Alerts not yet resolved (device offline, error rate, backlog, unsigned contracts), newest first."""
    return list(
        session.scalars(
            select(Alert).where(Alert.resolved_at.is_(None)).order_by(Alert.opened_at.desc()).limit(limit)
        )
    )


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
    return load_document(session, doc_id)


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
    """Needs review, or unsigned where the type expects a signature, and not yet reviewed.

    The flags are wrapped (``coalesce``, ``+ 0``) on purpose: it keeps SQLite from an OR over two
    indexes followed by a sort of every match, and walks the capture-time index in order instead,
    which finds the oldest 50 items after a few hundred rows.
    """
    expecting = list(session.scalars(select(DocumentType.label).where(DocumentType.expects_signature)))
    unsigned = (
        and_(Document.doc_type.in_(expecting), Document.signature_count + 0 == 0) if expecting else false()
    )
    return and_(Document.reviewed_at.is_(None), or_(func.coalesce(Document.needs_review, false()), unsigned))


COUNT_CAP = 10_000


def review_queue(
    session: Session, page: int = 1, page_size: int = PAGE_SIZE
) -> tuple[list[Document], bool, int]:
    """One page of the review queue (oldest first, so nothing waits forever) and its size.

    The size is counted up to ``COUNT_CAP`` + 1 (shown as "10000+"): past that the exact
    number does not change what a reviewer does, and counting a million rows would.
    """
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
    capped = select(Document.id).where(cond).limit(COUNT_CAP + 1).subquery()
    total = session.scalar(select(func.count()).select_from(capped)) or 0
    return rows[:page_size], len(rows) > page_size, int(total)


def failed_checks(session: Session, doc_ids: list[int]) -> dict[int, list[str]]:
    """The names of the consistency checks each document's pages failed, for the queue's "Why"
    column (one query for a page of the queue)."""
    if not doc_ids:
        return {}
    rows = session.execute(
        select(Page.document_id, CheckRow.name)
        .join(CheckRow, CheckRow.page_id == Page.id)
        .where(Page.document_id.in_(doc_ids), CheckRow.ok.is_(False))
        .distinct()
        .order_by(Page.document_id, CheckRow.name)
    )
    out: dict[int, list[str]] = {}
    for doc_id, name in rows:
        out.setdefault(int(doc_id), []).append(str(name))
    return out


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


def aggregates(session: Session, now: datetime, days: int = 30, sample: int = 2000) -> Aggregates:
    """Volume, signature presence, unsigned contracts, latency per stage and error rates.

    One grouped pass over the window's documents gives volume (per day, site, type), signature
    presence, unsigned contracts and the pipeline error rate; one pass over the window's failed
    or partial pages gives OCR errors. Latency lives in a JSON column, so it is summarised in
    Python over the most recent ``sample`` pages.
    """
    buckets = days_back(now.date(), days)
    since = datetime.combine(now.date() - timedelta(days=days - 1), time.min, tzinfo=timezone.utc)
    day = func.date(Document.captured_at)
    signed = Document.signature_count > 0
    bad = Document.status != "ok"
    per_day: dict[str, int] = {}
    pages_per_day: dict[str, int] = {}
    bad_per_day: dict[str, int] = {}
    by_site: dict[str, dict[str, int]] = {}
    by_type: dict[str, list[int]] = {}  # type -> [documents, signed]
    unsigned = 0
    for d, site, doc_type, is_signed, is_bad, n, n_pages in session.execute(
        select(
            day, Document.site_id, Document.doc_type, signed, bad, func.count(), func.sum(Document.page_count)
        )
        .where(Document.captured_at >= since)
        .group_by(day, Document.site_id, Document.doc_type, signed, bad)
    ):
        d = str(d)
        per_day[d] = per_day.get(d, 0) + n
        pages_per_day[d] = pages_per_day.get(d, 0) + int(n_pages or 0)
        if is_bad:
            bad_per_day[d] = bad_per_day.get(d, 0) + n
        site_days = by_site.setdefault(site, {})
        site_days[d] = site_days.get(d, 0) + n
        t = by_type.setdefault(doc_type, [0, 0])
        t[0] += n
        t[1] += n if is_signed else 0
        if doc_type == "contract" and not is_signed:
            unsigned += n
    presence = sorted(((t, v[0], v[1]) for t, v in by_type.items()), key=lambda x: -x[1])
    unsigned_recent = list(
        session.scalars(
            select(Document)
            .where(Document.doc_type == "contract", Document.signature_count == 0)
            .order_by(Document.captured_at.desc())
            .limit(10)
        )
    )

    # OCR errors: only failed or partial pages can carry one, so only those are read.
    errors_text = func.lower(cast(Page.errors, String))
    ocr_per_day: dict[str, int] = {}
    page_day = func.date(Page.captured_at)
    for d, n in session.execute(
        select(page_day, func.count())
        .where(
            Page.captured_at >= since,
            Page.status != "ok",
            or_(errors_text.like("%ocr%"), errors_text.like("%tesseract%")),
        )
        .group_by(page_day)
    ):
        ocr_per_day[str(d)] = int(n)

    recent = session.execute(
        select(Page.timings_ms).order_by(Page.captured_at.desc()).limit(sample)
    ).scalars()
    stage_values: dict[str, list[float]] = {}
    n_recent = 0
    for timings in recent:
        n_recent += 1
        for k, v in (timings or {}).items():
            if isinstance(v, int | float):
                stage_values.setdefault(k, []).append(float(v))
    stages = []
    for k, vs in sorted(stage_values.items(), key=lambda kv: -statistics.median(kv[1])):
        vs.sort()
        stages.append((k, statistics.median(vs), vs[min(len(vs) - 1, int(0.95 * len(vs)))], len(vs)))

    checks = session.execute(
        select(func.count(), func.sum(case((CheckRow.ok, 0), else_=1))).where(
            CheckRow.page_id.in_(
                select(Page.id).order_by(Page.captured_at.desc()).limit(sample).scalar_subquery()
            )
        )
    ).one()
    total_docs = sum(per_day.values())
    error_days = [b for b in buckets if per_day.get(b)]
    return Aggregates(
        days=buckets,
        per_day=[per_day.get(b, 0) for b in buckets],
        by_site={s: [v.get(b, 0) for b in buckets] for s, v in sorted(by_site.items())},
        by_type=[(t, n) for t, n, _ in presence],
        presence=presence,
        unsigned_contracts=unsigned,
        unsigned_recent=unsigned_recent,
        stages=stages,
        error_days=error_days,
        pipeline_error_rate=[bad_per_day.get(d, 0) / per_day[d] for d in error_days],
        ocr_error_rate=[
            min(1.0, ocr_per_day.get(d, 0) / max(1, pages_per_day.get(d, 0))) for d in error_days
        ],
        check_fail_rate=(int(checks[1] or 0) / checks[0]) if checks[0] else None,
        dead_letters=int(session.scalar(select(func.count()).select_from(DeadLetter)) or 0),
        totals={
            "documents": total_docs,
            "signed_rate": (sum(sg for _, _, sg in presence) / total_docs) if total_docs else None,
            "pages_sampled": n_recent,
        },
    )


# -- clients --------------------------------------------------------------------------------


def client_totals(session: Session, max_clients: int = 5000) -> tuple[int, list[ClientSummary]]:
    """Per-buyer invoice count, gross total, first and last capture, seller and currency.

    Grouped in SQL over the ``buyer`` and ``total`` fields (indexed by name and value), so the
    page never loads invoices one by one. Totals that are not plain decimals (a reviewer may type
    anything) are left out rather than breaking the cast. Returns (invoices counted, clients).
    """
    buyer, total, seller, currency = (aliased(FieldRow) for _ in range(4))
    dialect = session.get_bind().dialect.name
    numeric: ColumnElement[bool]
    if dialect == "postgresql":
        numeric = total.value.op("~")(r"^-?[0-9]+(\.[0-9]+)?$")
    else:
        numeric = and_(total.value.op("GLOB")("[0-9-]*"), total.value.op("NOT GLOB")("*[^0-9.-]*"))
    invoices = func.count(func.distinct(Page.document_id))
    stmt = (
        select(
            buyer.value,
            invoices,
            func.sum(cast(total.value, Float)),
            func.max(Page.captured_at),
            func.min(Page.captured_at),
            func.max(seller.value),
            func.max(currency.value),
        )
        .select_from(buyer)
        .join(Page, Page.id == buyer.page_id)
        .join(total, and_(total.page_id == buyer.page_id, total.name == "total"))
        .outerjoin(seller, and_(seller.page_id == buyer.page_id, seller.name == "seller"))
        .outerjoin(currency, and_(currency.page_id == buyer.page_id, currency.name == "currency"))
        .where(buyer.name == "buyer", Page.doc_type == "invoice", numeric, buyer.value.is_not(None))
        .group_by(buyer.value)
        .order_by(func.sum(cast(total.value, Float)).desc())
        .limit(max_clients)
    )
    out = []
    n = 0
    for name, count, gross, last, first, sell, cur in session.execute(stmt):
        n += int(count)
        out.append(
            ClientSummary(
                client=str(name)[:200],
                invoices=int(count),
                total=float(gross or 0.0),
                last=last.date(),
                first=first.date(),
                currencies=[cur] if cur else [],
                sellers=[str(sell)[:200]] if sell else [],
            )
        )
    return n, out


def signature_boxes(session: Session, page_id: int) -> list[SignatureBox]:
    """Boxes currently standing on a page (model boxes a reviewer removed are left out)."""
    return list(
        session.scalars(
            select(SignatureBox)
            .where(SignatureBox.page_id == page_id, ~SignatureBox.removed)
            .order_by(SignatureBox.id)
        )
    )
