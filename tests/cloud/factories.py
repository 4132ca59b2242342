"""Builders for contract messages used by the cloud tests (real contract models, no fakes)."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

from edge import contract as c

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=timezone.utc)


def make_result(
    i: int = 0,
    *,
    device: str = "kiosk-01",
    site: str = "paris-01",
    doc_type: str = "invoice",
    signatures: int = 1,
    text: str | None = None,
    needs_review: bool = False,
    captured_at: datetime | None = None,
    uri: str | None = None,
    page_index: int = 0,
    page_count: int | None = None,
    fields: dict[str, Any] | None = None,
    status: str = "ok",
    handwriting: bool = False,
) -> c.Result:
    """A valid Result; ``i`` varies the id, time and content deterministically."""
    at = captured_at or (T0 + timedelta(minutes=i))
    sigs = [
        {"box": {"x1": 0.1 + 0.01 * k, "y1": 0.8, "x2": 0.3 + 0.01 * k, "y2": 0.86}, "score": 0.9}
        for k in range(signatures)
    ]
    values = (
        fields
        if fields is not None
        else {
            "number": {"value": f"F-{i:05d}", "confidence": 0.9, "raw": f"F-{i:05d}"},
            "total": {"value": "1234.50", "confidence": 0.8, "raw": "1 234,50"},
        }
    )
    return c.Result.model_validate(
        {
            "result_id": uuid.UUID(int=i + 1) if i >= 0 else uuid.uuid4(),
            "device_id": device,
            "site": site,
            "source": {
                "kind": "folder",
                "uri": uri or f"folder:///srv/in/{i}.pdf",
                "page_index": page_index,
                "page_count": page_count,
            },
            "captured_at": at,
            "processed_at": at + timedelta(seconds=2),
            "image": {"sha256": hashlib.sha256(str(i).encode()).hexdigest(), "width": 1654, "height": 2339},
            "signatures": sigs,
            "signature_count": signatures,
            "text": text if text is not None else f"FACTURE numero F-{i:05d} total 1234.50 EUR merci",
            "fields": {
                "values": values,
                "line_items": [{"description": "Widget", "quantity": 2, "unit_price": 5.0, "amount": 10.0}],
                "checks": [{"name": "lines_sum_to_total", "ok": True}],
                "codes": [{"kind": "qr", "payload": f"INV:F-{i:05d}"}],
            },
            "doc_type": {"label": doc_type, "confidence": 0.95, "needs_review": needs_review},
            "models": {
                "detector": {"name": "sigdet", "version": "1.0.0"},
                "classifier": {"name": "doctype", "version": "1.0.0"},
                "ocr": {"name": "tesseract", "version": "5.3.0"},
                **(
                    {"handwriting": {"name": "signet-handwriting", "version": "1.0.0"}} if handwriting else {}
                ),
            },
            "timings_ms": {"detect": 31.0, "ocr": 420.5},
            "status": status,
            "errors": [] if status == "ok" else ["ocr: timeout"],
        }
    )
