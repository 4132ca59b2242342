"""Valid Results without images, for the sync and ingest tests (and bench/sync.py)."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timezone

from edge.contract import (
    Box,
    DocType,
    Fields,
    FieldValue,
    ModelRef,
    ModelsUsed,
    PageImage,
    Result,
    Signature,
    SourceRef,
)

MODELS = ModelsUsed(
    detector=ModelRef(name="detector", version="1"),
    classifier=ModelRef(name="classifier", version="1"),
    ocr=ModelRef(name="tesseract", version="5"),
)


def result(device_id: str = "dev-1", i: int = 0, site: str = "lab") -> Result:
    """Result number ``i`` of a device: deterministic content, a fresh result_id."""
    now = datetime.now(timezone.utc)
    sha = hashlib.sha256(f"{device_id}-{i}".encode()).hexdigest()
    sig = Signature(box=Box(x1=0.1, y1=0.7, x2=0.4, y2=0.8), score=0.91)
    return Result(
        result_id=uuid.uuid4(),
        device_id=device_id,
        site=site,
        source=SourceRef(kind="folder", uri=f"folder:///inbox/page-{i}.png", page_index=0),
        captured_at=now,
        processed_at=now,
        image=PageImage(sha256=sha, width=1654, height=2339, upload="none"),
        signatures=[sig],
        signature_count=1,
        text=f"INVOICE No {i}\nTotal 123.45 EUR\n" + "lorem ipsum " * 20,
        fields=Fields(
            values={
                "number": FieldValue(value=str(i), confidence=0.9),
                "total": FieldValue(value="123.45", confidence=0.8),
            }
        ),
        doc_type=DocType(label="invoice", confidence=0.93, needs_review=False),
        models=MODELS,
        timings_ms={"detect": 12.0, "ocr": 800.0},
    )
