"""``process_file``: every page of one file through detect and read, in this process.

Used by ``signet edge process`` and the cloud's upload page. Nothing is stored; the caller
decides what to do with the Results.
"""

from __future__ import annotations

import logging
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from edge.config import EdgeConfig
from edge.contract import ModelRef, Result
from edge.pipeline.results import build_result, page_result_id
from edge.sources.folder import file_sha256
from edge.sources.pages import open_pages

log = logging.getLogger(__name__)


def process_file(
    path: str | Path,
    cfg: EdgeConfig,
    detector: Any,
    reader: Any,
    *,
    source_kind: str = "file",
    deterministic_ids: bool = True,
) -> list[Result]:
    """One Result per page of ``path`` (image, multi-page TIFF or PDF).

    Raises :class:`edge.sources.pages.PageError` with the reason when the file cannot be read.
    With ``deterministic_ids`` the result ids derive from the file's sha256 and page index
    (processing the same file twice gives the same ids, so storing both is idempotent).
    """
    p = Path(path)
    paged = open_pages(p, cfg.source)
    key = file_sha256(p)
    captured = datetime.fromtimestamp(p.stat().st_mtime, tz=timezone.utc)
    uri = p.resolve().as_uri()
    det_ref = ModelRef(name=str(detector.name), version=str(detector.version))
    results = []
    for index, image in enumerate(paged.pages):
        t_start = time.monotonic()
        t0 = time.perf_counter()
        dets = detector.detect(image)
        timings = {"detect": (time.perf_counter() - t0) * 1000}
        t0 = time.perf_counter()
        errors: list[str] = []
        try:
            reading = reader.read(image, dets, "scan")
        except Exception as exc:  # a reader crash must still give this page a Result
            log.exception("reading failed on page %d of %s", index + 1, p)
            reading = None
            errors.append(f"reading failed: {exc.__class__.__name__}: {exc}")
        timings["read"] = (time.perf_counter() - t0) * 1000
        timings["total"] = (time.monotonic() - t_start) * 1000
        results.append(
            build_result(
                image=image,
                encoded=None,
                detections=dets,
                reading=reading,
                device_id=cfg.device.id,
                site=cfg.device.site,
                source_kind=source_kind,
                source_uri=uri,
                page_index=index,
                page_count=paged.page_count,
                captured_at=captured,
                detector_ref=det_ref,
                timings_ms=timings,
                result_id=page_result_id(cfg.device.id, key, index) if deterministic_ids else uuid.uuid4(),
                dpi=paged.dpi,
                errors=errors,
            )
        )
    return results
