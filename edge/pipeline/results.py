"""Building the contract Result for one page from its detections and reading."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any, Literal

import numpy as np

from edge.contract import (
    Box,
    DocType,
    Fields,
    ModelRef,
    ModelsUsed,
    PageImage,
    Result,
    Signature,
    SourceRef,
)
from edge.store import encode_page, sha256_hex

# Page results from files get ids derived from the file's content and the page index: the same
# file processed again (after a crash, before it moved to done/) maps onto the same rows.
RESULT_NS = uuid.UUID("5b0c8f7e-3d52-4c1a-9a61-2f4f0e6c9d10")


def page_result_id(device_id: str, file_key: str, page_index: int) -> uuid.UUID:
    return uuid.uuid5(RESULT_NS, f"{device_id}:{file_key}:{page_index}")


def to_signatures(detections: list[Any]) -> list[Signature]:
    """Detector boxes (normalised) as contract signatures; clipped, degenerate boxes dropped."""
    out = []
    for d in detections:
        x1, y1, x2, y2 = (min(1.0, max(0.0, float(v))) for v in d.box)
        if x2 <= x1 or y2 <= y1:
            continue
        out.append(Signature(box=Box(x1=x1, y1=y1, x2=x2, y2=y2), score=min(1.0, max(0.0, float(d.score)))))
    return out


def failed_doc_type() -> DocType:
    return DocType(label="other", confidence=0.0, needs_review=True)


def build_result(
    *,
    image: np.ndarray,
    encoded: bytes | None,
    detections: list[Any],
    reading: Any | None,
    device_id: str,
    site: str,
    source_kind: str,
    source_uri: str,
    page_index: int,
    page_count: int | None,
    captured_at: datetime,
    detector_ref: ModelRef,
    timings_ms: dict[str, float],
    result_id: uuid.UUID | None = None,
    dpi: int | None = None,
    upload: Literal["none", "thumbnail", "full"] = "none",
    errors: list[str] | None = None,
) -> Result:
    """One page's Result. ``reading`` None means reading failed (``errors`` says why)."""
    data = encoded if encoded is not None else encode_page(image)
    errs = list(errors or [])
    timings = {k: round(max(0.0, float(v)), 1) for k, v in timings_ms.items()}
    if reading is not None:
        errs.extend(reading.errors)
        for k, v in reading.timings_ms.items():
            timings[f"read.{k}"] = round(max(0.0, float(v)), 1)
        text, fields, doc_type = reading.text, reading.fields, reading.doc_type
        ocr, classifier = reading.ocr, reading.classifier
        handwriting = reading.handwriting
        status: Literal["ok", "partial", "failed"] = "partial" if reading.errors else "ok"
    else:
        text, fields, doc_type = "", Fields(), failed_doc_type()
        ocr = ModelRef(name="tesseract", version="unknown")
        classifier = ModelRef(name="doc-classifier", version="unknown")
        handwriting = None
        status = "failed"
    sigs = to_signatures(detections)
    processed = datetime.now(timezone.utc)
    return Result(
        result_id=result_id or uuid.uuid4(),
        device_id=device_id,
        site=site,
        source=SourceRef(
            kind=source_kind, uri=source_uri[:2048], page_index=page_index, page_count=page_count
        ),  # type: ignore[arg-type]
        captured_at=captured_at,
        processed_at=max(processed, captured_at),
        image=PageImage(
            sha256=sha256_hex(data),
            width=int(image.shape[1]),
            height=int(image.shape[0]),
            dpi=dpi,
            upload=upload,
        ),
        signatures=sigs,
        signature_count=len(sigs),
        text=text[:200_000],
        fields=fields,
        doc_type=doc_type,
        models=ModelsUsed(detector=detector_ref, classifier=classifier, ocr=ocr, handwriting=handwriting),
        timings_ms=timings,
        status=status,
        errors=[e[:2000] for e in errs],
    )
