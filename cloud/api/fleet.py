"""Devices, sites, aggregates, models, alerts and dead letters."""

from __future__ import annotations

import statistics
from datetime import datetime, timedelta
from typing import Any

from flask import abort, request
from sqlalchemy import case, func, select

from cloud import context
from cloud.alerts import alert_doc
from cloud.api import bp
from cloud.api.query import BadParam, parse_when
from cloud.api.serialize import device_summary, iso
from cloud.auth import require_role
from cloud.db.models import Alert, DeadLetter, Device, Document, DocumentType, ModelVersion, Page, Site
from edge.contract import utcnow

MAX_WINDOW_DAYS = 366
TIMING_SAMPLE = 5000


def _window() -> tuple[datetime, datetime]:
    """``from``/``to`` query parameters, default the last 30 days, at most a year."""
    now = utcnow()
    end = parse_when(request.args["to"], "to", end=True) if request.args.get("to") else now
    start = parse_when(request.args["from"], "from") if request.args.get("from") else end - timedelta(days=30)
    if start > end:
        raise BadParam("from must be before to")
    if end - start > timedelta(days=MAX_WINDOW_DAYS):
        raise BadParam(f"the window may span at most {MAX_WINDOW_DAYS} days")
    return start, end


@bp.get("/devices")
@require_role("viewer")
def devices_list() -> Any:
    s = context.db()
    return {"items": [device_summary(d) for d in s.scalars(select(Device).order_by(Device.id))]}


@bp.get("/devices/<device_id>")
@require_role("viewer")
def device_get(device_id: str) -> Any:
    dev = context.db().get(Device, device_id)
    if dev is None:
        abort(404, description="no such device")
    return device_summary(dev)


@bp.get("/sites")
@require_role("viewer")
def sites_list() -> Any:
    s = context.db()
    devices = dict(s.execute(select(Device.site_id, func.count()).group_by(Device.site_id)).all())
    online = dict(
        s.execute(
            select(Device.site_id, func.count()).where(Device.online.is_(True)).group_by(Device.site_id)
        ).all()
    )
    since = utcnow() - timedelta(days=30)
    recent = dict(
        s.execute(
            select(Page.site_id, func.count()).where(Page.captured_at >= since).group_by(Page.site_id)
        ).all()
    )
    return {
        "items": [
            {
                "id": site.id,
                "title": site.title,
                "devices": devices.get(site.id, 0),
                "devices_online": online.get(site.id, 0),
                "pages_30d": recent.get(site.id, 0),
            }
            for site in s.scalars(select(Site).order_by(Site.id))
        ]
    }


@bp.get("/aggregates")
@require_role("viewer")
def aggregates() -> Any:
    """Volume per day, site and type; signature presence; unsigned where expected; latency; errors."""
    start, end = _window()
    s = context.db()
    in_window = (Page.captured_at >= start) & (Page.captured_at <= end)
    day = func.date(Page.captured_at)
    per_day = [
        {"day": str(d), "pages": n}
        for d, n in s.execute(select(day, func.count()).where(in_window).group_by(day).order_by(day))
    ]
    per_site = [
        {"site": k, "pages": n}
        for k, n in s.execute(
            select(Page.site_id, func.count()).where(in_window).group_by(Page.site_id).order_by(Page.site_id)
        )
    ]
    per_type = [
        {"doc_type": k, "pages": n, "signed": int(signed or 0)}
        for k, n, signed in s.execute(
            select(Page.doc_type, func.count(), func.sum(case((Page.signature_count > 0, 1), else_=0)))
            .where(in_window)
            .group_by(Page.doc_type)
            .order_by(Page.doc_type)
        )
    ]
    total = sum(r["pages"] for r in per_type)
    signed = sum(r["signed"] for r in per_type)
    errors = s.scalar(select(func.count()).select_from(Page).where(in_window, Page.status != "ok")) or 0
    doc_window = (Document.captured_at >= start) & (Document.captured_at <= end)
    unsigned_expected = (
        s.scalar(
            select(func.count())
            .select_from(Document)
            .join(DocumentType, DocumentType.label == Document.doc_type)
            .where(doc_window, DocumentType.expects_signature.is_(True), Document.signature_count == 0)
        )
        or 0
    )
    # Stage latency from a bounded sample of the newest pages (timings are JSON per page).
    stage: dict[str, list[float]] = {}
    for (timings,) in s.execute(
        select(Page.timings_ms).where(in_window).order_by(Page.captured_at.desc()).limit(TIMING_SAMPLE)
    ):
        for k, v in (timings or {}).items():
            if isinstance(v, (int, float)):
                stage.setdefault(k, []).append(float(v))
    latency = {
        k: {
            "median_ms": statistics.median(v),
            "p95_ms": sorted(v)[max(0, int(len(v) * 0.95) - 1)],
            "n": len(v),
        }
        for k, v in sorted(stage.items())
    }
    return {
        "from": iso(start),
        "to": iso(end),
        "pages": total,
        "per_day": per_day,
        "per_site": per_site,
        "per_type": per_type,
        "signature_presence_rate": (signed / total) if total else None,
        "unsigned_expected_documents": unsigned_expected,
        "error_rate": (errors / total) if total else None,
        "stage_latency": latency,
    }


@bp.get("/models")
@require_role("viewer")
def models_list() -> Any:
    """Registered model versions, and which versions produced pages in the window."""
    start, end = _window()
    s = context.db()
    registered = [
        {
            "kind": m.kind,
            "name": m.name,
            "version": m.version,
            "sha256": m.sha256,
            "stage": m.stage,
            "metrics": m.metrics,
            "registered_at": iso(m.registered_at),
        }
        for m in s.scalars(
            select(ModelVersion).order_by(ModelVersion.name, ModelVersion.registered_at.desc())
        )
    ]
    in_window = (Page.captured_at >= start) & (Page.captured_at <= end)
    in_use: list[dict[str, Any]] = []
    for kind, col in (
        ("detector", Page.detector_version),
        ("classifier", Page.classifier_version),
        ("ocr", Page.ocr_version),
        ("handwriting", Page.handwriting_version),
    ):
        rows = select(col, func.count()).where(in_window & col.is_not(None)).group_by(col).order_by(col)
        for version, n in s.execute(rows):
            in_use.append({"kind": kind, "version": version, "pages": n})
    return {"registered": registered, "in_use": in_use}


@bp.get("/alerts")
@require_role("viewer")
def alerts_list() -> Any:
    s = context.db()
    stmt = select(Alert).order_by(Alert.opened_at.desc(), Alert.id.desc()).limit(200)
    if request.args.get("all", "false").lower() not in ("true", "1"):
        stmt = stmt.where(Alert.resolved_at.is_(None))
    return {"items": [alert_doc(a) for a in s.scalars(stmt)]}


@bp.get("/dead-letters")
@require_role("admin")
def dead_letters() -> Any:
    s = context.db()
    rows = s.scalars(
        select(DeadLetter).order_by(DeadLetter.received_at.desc(), DeadLetter.id.desc()).limit(200)
    )
    return {
        "items": [
            {
                "id": d.id,
                "received_at": iso(d.received_at),
                "topic": d.topic,
                "reason": d.reason,
                "size": len(d.payload),
                "payload_preview": d.payload[:500].decode("utf-8", errors="replace"),
            }
            for d in rows
        ]
    }
