"""Rows to JSON-ready dicts. Values are data, never markup: JSON encoding escapes them, and the
API's responses are ``application/json`` with ``nosniff``, so OCR text cannot run as script."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import url_for

from cloud.db.models import Device, Document, Page, Review


def iso(dt: datetime | None) -> str | None:
    return dt.isoformat() if dt else None


def document_summary(d: Document) -> dict[str, Any]:
    return {
        "id": d.id,
        "site": d.site_id,
        "device": d.device_id,
        "source": {"kind": d.source_kind, "uri": d.source_uri},
        "captured_at": iso(d.captured_at),
        "received_at": iso(d.received_at),
        "page_count": d.page_count,
        "expected_pages": d.expected_pages,
        "doc_type": d.doc_type,
        "type_confidence": d.type_confidence,
        "needs_review": d.needs_review,
        "signature_count": d.signature_count,
        "status": d.status,
    }


def _field_value(value: str | None, value_type: str) -> Any:
    if value is None:
        return None
    try:
        if value_type == "int":
            return int(value)
        if value_type == "float":
            return float(value)
        if value_type == "bool":
            return value == "True"
    except ValueError:
        return value
    return value


def page_detail(p: Page) -> dict[str, Any]:
    return {
        "id": p.id,
        "result_id": str(p.result_id),
        "page_index": p.page_index,
        "page_count": p.page_count,
        "captured_at": iso(p.captured_at),
        "processed_at": iso(p.processed_at),
        "received_at": iso(p.received_at),
        "image": {
            "sha256": p.image_sha256,
            "width": p.image_width,
            "height": p.image_height,
            "dpi": p.image_dpi,
            "url": url_for("api.image_get", sha256=p.image_sha256),
        },
        "text": p.text,
        "doc_type": {
            "label": p.doc_type,
            "confidence": p.type_confidence,
            "needs_review": p.needs_review,
            "scores": p.type_scores,
        },
        "signature_count": p.signature_count,
        "signatures": [
            {
                "id": s.id,
                "box": [s.x1, s.y1, s.x2, s.y2],
                "score": s.score,
                "source": s.source,
                "removed": s.removed,
            }
            for s in p.signatures
        ],
        "fields": [
            {
                "name": f.name,
                "value": _field_value(f.value, f.value_type),
                "confidence": f.confidence,
                "raw": f.raw,
                "source": f.source,
            }
            for f in p.fields
        ],
        "line_items": [
            {
                "description": li.description,
                "quantity": li.quantity,
                "unit_price": li.unit_price,
                "amount": li.amount,
                "confidence": li.confidence,
            }
            for li in p.line_items
        ],
        "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in p.checks],
        "models": {
            "detector": p.detector_version,
            "classifier": p.classifier_version,
            "ocr": p.ocr_version,
            "handwriting": p.handwriting_version,
        },
        "timings_ms": p.timings_ms,
        "status": p.status,
        "errors": p.errors,
    }


def review_entry(r: Review, username: str | None) -> dict[str, Any]:
    return {
        "id": r.id,
        "page_id": r.page_id,
        "at": iso(r.at),
        "user": username,
        "action": r.action,
        "before": r.before,
        "after": r.after,
        "note": r.note,
    }


def device_summary(d: Device) -> dict[str, Any]:
    return {
        "id": d.id,
        "site": d.site_id,
        "online": d.online,
        "last_seen": iso(d.last_seen),
        "status_at": iso(d.status_at),
        "versions": d.versions,
        "outbox_backlog": d.outbox_backlog,
        "health": d.last_health,
        "health_at": iso(d.health_at),
        "registered": d.token_hash is not None,
        "revoked": d.revoked_at is not None,
    }
