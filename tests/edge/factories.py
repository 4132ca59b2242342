"""Builders for contract objects used by the edge runtime tests (real Results, valid by the contract)."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

import numpy as np

from edge.contract import Box, DocType, ModelRef, ModelsUsed, PageImage, Result, Signature, SourceRef
from edge.store import encode_page, sha256_hex


def page_image(seed: int = 0, h: int = 120, w: int = 160) -> np.ndarray:
    """A small deterministic BGR page."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 255, size=(h, w, 3), dtype=np.uint8)


def make_result(image: np.ndarray, *, result_id: uuid.UUID | None = None, signatures: int = 1) -> Result:
    """A Result for ``image`` whose sha256 matches the bytes the store keeps."""
    now = datetime.now(timezone.utc)
    sigs = [
        Signature(box=Box(x1=0.1, y1=0.1 + 0.1 * i, x2=0.3, y2=0.15 + 0.1 * i), score=0.9)
        for i in range(signatures)
    ]
    return Result(
        result_id=result_id or uuid.uuid4(),
        device_id="dev-test",
        site="lab",
        source=SourceRef(kind="file", uri="file:///x.png"),
        captured_at=now,
        processed_at=now,
        image=PageImage(
            sha256=sha256_hex(encode_page(image)), width=image.shape[1], height=image.shape[0], upload="full"
        ),
        signatures=sigs,
        signature_count=len(sigs),
        text="hello",
        doc_type=DocType(label="invoice", confidence=0.9, needs_review=False),
        models=ModelsUsed(
            detector=ModelRef(name="det", version="1"),
            classifier=ModelRef(name="cls", version="1"),
            ocr=ModelRef(name="tesseract", version="5"),
        ),
    )
