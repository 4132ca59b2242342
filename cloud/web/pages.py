"""Read-only pages: fleet, documents, one document, aggregates, clients."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from flask import abort, current_app, render_template, request, url_for

from cloud.db.models import Document, Page
from cloud.web import NAV, bp, deps, queries
from cloud.web.clients import scatter_points, score

log = logging.getLogger(__name__)

PALETTE = ["#2456d6", "#1a7f46", "#c2410c", "#7c3aed", "#b42318", "#0e7490"]


@dataclass
class PageView:
    """What the templates show of one page (model boxes a reviewer removed are left out)."""

    id: int
    index: int
    width: int
    height: int
    image_url: str | None
    signatures: list[Any]
    text: str
    fields: list[Any]
    line_items: list[Any]
    checks: list[Any]
    doc_type: str
    type_confidence: float
    scores: list[tuple[str, float]]
    captured_at: datetime
    processed_at: datetime
    detector_version: str
    classifier_version: str
    ocr_version: str
    handwriting_version: str | None
    timings: list[tuple[str, float]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def page_view(p: Page) -> PageView:
    scores = sorted(((str(k), float(v)) for k, v in (p.type_scores or {}).items()), key=lambda kv: -kv[1])[:5]
    return PageView(
        id=p.id,
        index=p.page_index,
        width=p.image_width,
        height=p.image_height,
        image_url=deps.image_url(p.image_sha256),
        signatures=[s for s in p.signatures if not s.removed],
        text=p.text or "",
        fields=list(p.fields),
        line_items=list(p.line_items),
        checks=list(p.checks),
        doc_type=p.doc_type,
        type_confidence=p.type_confidence,
        scores=scores,
        captured_at=p.captured_at,
        processed_at=p.processed_at,
        detector_version=p.detector_version,
        classifier_version=p.classifier_version,
        ocr_version=p.ocr_version,
        handwriting_version=p.handwriting_version,
        timings=[(str(k), float(v)) for k, v in (p.timings_ms or {}).items() if isinstance(v, int | float)],
        errors=[str(e) for e in (p.errors or [])],
    )


def now() -> datetime:
    return datetime.now(timezone.utc)


# Aggregates and client analytics read the whole window (a full pass over a month of documents,
# k-means over every client); they are recomputed at most once a minute per process.
CACHE_S = 60.0


def cached(key: str, compute: Callable[[], Any]) -> tuple[Any, datetime]:
    """``compute()``'s value, reused for ``CACHE_S`` seconds; returns it with when it was computed."""
    store = current_app.extensions.setdefault("signet_web", {}).setdefault("cache", {})
    hit = store.get(key)
    t = time.monotonic()
    if hit is not None and t - hit[0] < CACHE_S:
        return hit[1], hit[2]
    value = compute()
    at = now()
    store[key] = (t, value, at)
    return value, at


@bp.app_template_filter("web_dt")
def web_dt(v: datetime | None) -> str:
    return v.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M") if v else "–"


@bp.app_template_filter("web_ago")
def web_ago(v: datetime | None, ref: datetime) -> str:
    if v is None:
        return "never"
    s = max(0, int((ref - v).total_seconds()))
    if s < 90:
        return f"{s} s ago"
    if s < 5400:
        return f"{s // 60} min ago"
    if s < 172800:
        return f"{s // 3600} h ago"
    return f"{s // 86400} days ago"


@bp.app_template_filter("web_tail")
def web_tail(v: str | None, n: int = 40) -> str:
    v = v or ""
    return v if len(v) <= n else "…" + v[-(n - 1) :]


@bp.app_context_processor
def inject() -> dict[str, Any]:
    """Layout values for every template that extends web/base.html (other blueprints' too)."""
    views = current_app.view_functions
    try:
        nav = [(e, label) for e, label, role in NAV if e in views and deps.has_role(role)]
        user = deps.current_user()
    except Exception:  # an error page rendered while the database is down must still render
        log.exception("layout could not read the signed-in user")
        nav, user = [], None
    return {
        "web_nav": nav,
        "web_user": user,
        "web_csrf": deps.csrf_token,
        "web_logout_url": deps.logout_url(),
    }


@bp.teardown_app_request
def _close(exc: BaseException | None) -> None:
    deps.close_session(exc)


@bp.route("/fleet")
@deps.require("viewer")
def fleet() -> str:
    t = now()
    days = 14
    devices = queries.fleet(deps.session(), t, days=days)
    return render_template(
        "web/fleet.html",
        devices=devices,
        alerts=queries.open_alerts(deps.session()),
        now=t,
        days=days,
        online=sum(d.online for d in devices),
        backlog=sum(d.backlog for d in devices),
        pages=sum(d.pages_total for d in devices),
    )


@bp.route("/documents")
@deps.require("viewer")
def documents() -> str:
    f = queries.DocFilter.from_args(request.args)
    s = deps.session()
    docs, has_next = queries.documents(s, f)
    export_args = f.api_args()
    return render_template(
        "web/documents.html",
        f=f,
        docs=docs,
        has_next=has_next,
        choices=queries.filter_choices(s),
        export_csv=deps.export_url("csv", export_args),
        export_json=deps.export_url("json", export_args),
    )


def load_document(doc_id: int) -> tuple[Document, list[PageView], PageView]:
    """The document, its pages and the page asked for by ``?page=`` (404 when absent)."""
    doc = queries.document(deps.session(), doc_id)
    if doc is None or not doc.pages:
        abort(404)
    pages = [page_view(p) for p in doc.pages]
    try:
        want = int(request.args.get("page", pages[0].index))
    except ValueError:
        want = pages[0].index
    current = next((p for p in pages if p.index == want), pages[0])
    return doc, pages, current


@bp.route("/documents/<int:doc_id>")
@deps.require("viewer")
def document(doc_id: int) -> str:
    doc, pages, current = load_document(doc_id)
    hist = queries.history(deps.session(), [p.id for p in pages])
    return render_template(
        "web/document.html",
        doc=doc,
        pages=pages,
        current=current,
        history=hist,
        can_review=deps.has_role("reviewer"),
    )


def _chart(
    x: list[Any], series: dict[str, list[Any]], xtype: str = "category", unit: str = ""
) -> dict[str, Any]:
    return {
        "x": x,
        "xtype": xtype,
        "unit": unit,
        "series": [{"label": k, "values": v} for k, v in series.items()],
    }


def _epochs(days: list[str]) -> list[int]:
    return [int(datetime.fromisoformat(d).replace(tzinfo=timezone.utc).timestamp()) for d in days]


@bp.route("/aggregates")
@deps.require("viewer")
def aggregates() -> str:
    a, computed = cached("aggregates", lambda: queries.aggregates(deps.session(), now()))
    return render_template(
        "web/aggregates.html",
        a=a,
        computed=computed,
        volume=_chart(_epochs(a.days), {"documents": a.per_day}, "time"),
        by_site=_chart(_epochs(a.days), a.by_site or {"documents": a.per_day}, "time"),
        by_type=_chart([t for t, _ in a.by_type], {"documents": [n for _, n in a.by_type]}),
        presence=_chart(
            [t for t, _, _ in a.presence],
            {"signed share": [round(sg / n, 3) if n else 0 for _, n, sg in a.presence]},
        ),
        latency=_chart(
            [s for s, *_ in a.stages],
            {
                "median": [round(m, 1) for _, m, _, _ in a.stages],
                "p95": [round(p, 1) for _, _, p, _ in a.stages],
            },
            unit=" ms",
        ),
        errors=_chart(
            _epochs(a.error_days),
            {
                "pipeline errors": [round(v, 4) for v in a.pipeline_error_rate],
                "OCR errors": [round(v, 4) for v in a.ocr_error_rate],
            },
            "time",
        ),
    )


@bp.route("/clients")
@deps.require("viewer")
def clients() -> str:
    (n_invoices, summary), computed = cached("clients", _clients_summary)
    top = summary[:12]
    seg: dict[str, int] = {}
    for c in summary:
        seg[c.segment] = seg.get(c.segment, 0) + 1
    clusters = []
    for cid in sorted({c.cluster for c in summary}):
        members = [c for c in summary if c.cluster == cid]
        clusters.append({"id": cid, "n": len(members), "mean": sum(c.total for c in members) / len(members)})
    return render_template(
        "web/clients.html",
        computed=computed,
        clients=summary[:500],
        invoices=n_invoices,
        top=_chart([c.client[:14] for c in top], {"gross total": [round(c.total, 2) for c in top]}),
        segments=_chart(list(seg), {"clients": list(seg.values())}),
        points=scatter_points(summary[:1000]),
        clusters=clusters,
        palette=PALETTE,
    )


def _clients_summary() -> tuple[int, list[Any]]:
    n, totals = queries.client_totals(deps.session())
    return n, score(totals, now().date())


def document_url(doc_id: int) -> str:
    return url_for("web.document", doc_id=doc_id)
