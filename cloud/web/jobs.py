"""Uploads read by the cloud with the edge's own pipeline, in a background thread.

An upload is checked before anything runs (type by magic bytes, size, encryption, corruption,
page count), each refusal with its own message. Accepted files are read one at a time by a single
worker thread (the web process must keep answering while a 40-page PDF is read) with
``edge.pipeline.process_file`` and the same detector and reader the devices run, on ONNX Runtime
CPU. The page images are stored in the cloud image store and the Results written like a device's.
Job state lives in memory: it is progress for the person who uploaded, not a record; the record
is the documents it produced.
"""

from __future__ import annotations

import importlib
import logging
import shutil
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from edge.config import EdgeConfig, SourceConfig

log = logging.getLogger(__name__)

UPLOAD_DEVICE = "cloud-upload"


class UploadRefused(ValueError):
    """A file the upload page will not read; the message is shown to the admin as is."""


@dataclass
class Job:
    id: str
    filename: str
    state: str = "queued"  # queued | loading | reading | storing | done | failed
    progress: float = 0.0
    message: str = "waiting for the reader"
    pages: int = 0
    documents: list[dict[str, str]] = field(default_factory=list)

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "filename": self.filename,
            "state": self.state,
            "progress": round(self.progress, 3),
            "message": self.message,
            "pages": self.pages,
            "documents": self.documents,
        }


def check_file(path: Path, max_mb: int, max_pages: int) -> tuple[str, int]:
    """Refuse what cannot be read, with a reason per case; returns (kind, page count)."""
    from edge.sources.pages import PageError, open_pages, sniff

    size = path.stat().st_size
    if size == 0:
        raise UploadRefused("The file is empty.")
    if size > max_mb * 1_048_576:
        raise UploadRefused(f"The file is too large: {size / 1_048_576:.1f} MB, the limit is {max_mb} MB.")
    with path.open("rb") as fh:
        head = fh.read(16)
    kind = sniff(head)
    if kind is None:
        raise UploadRefused("Not a PDF or an image: upload a PDF, PNG, JPEG, TIFF, BMP or WebP file.")
    if kind == "pdf":
        _check_pdf(path, max_pages)
    cfg = SourceConfig(pdf_max_pages=max_pages, max_file_mb=max_mb)
    try:
        paged = open_pages(path, cfg)
    except PageError as exc:
        msg = str(exc)
        if "more than the limit" in msg:
            raise UploadRefused(f"Too many pages: {msg}.") from exc
        raise UploadRefused(f"The file is corrupt or unreadable: {msg}.") from exc
    if hasattr(paged.pages, "close"):
        paged.pages.close()  # only checked here; the pipeline opens it again
    return paged.kind, paged.page_count


def _check_pdf(path: Path, max_pages: int) -> None:
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise UploadRefused(
                "The PDF is encrypted (password-protected); upload an unprotected copy."
            ) from exc
        raise UploadRefused(f"The PDF is corrupt: {exc}.") from exc
    try:
        n = len(pdf)
    finally:
        pdf.close()
    if n == 0:
        raise UploadRefused("The PDF is corrupt: it has no pages.")
    if n > max_pages:
        raise UploadRefused(f"Too many pages: the PDF has {n} pages, the limit is {max_pages}.")


class Uploads:
    """Accepts uploads, reads them one at a time in a background thread, keeps their progress.

    ``store(results, images, job)`` is called with the Results and the page images (JPEG bytes)
    and returns links to the documents it made; the web layer provides it (database + image store).
    """

    def __init__(
        self,
        work_dir: Path,
        edge_cfg: EdgeConfig,
        store: Callable[[list[Any], list[bytes], Job], list[dict[str, str]]],
        keep: int = 50,
    ) -> None:
        self.work_dir = work_dir
        self.edge_cfg = edge_cfg
        self.store = store
        self.keep = keep
        self.jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="upload")
        self._models: tuple[Any, Any] | None = None

    def unavailable(self) -> str | None:
        """Why the pipeline cannot run here (missing model files or runtime), or None."""
        for what, p in (
            ("signature detector", self.edge_cfg.detector.model),
            ("classifier", self.edge_cfg.reader.classifier),
        ):
            if not Path(p).is_file():
                return f"the {what} model {p} is missing (train or fetch the models first)"
        try:
            pipeline = importlib.import_module("edge.pipeline")
        except ImportError as exc:
            return f"the edge pipeline is not installed ({exc})"
        if not hasattr(pipeline, "process_file"):
            return "edge.pipeline has no process_file yet"
        return None

    def submit(self, src: Path, filename: str, max_mb: int, max_pages: int, site: str) -> Job:
        """Check the file (raises UploadRefused) and queue it; the file is moved into the work dir.

        The file is checked before the pipeline's availability, so a bad file gets its own
        message even where the models are missing.
        """
        kind, pages = check_file(src, max_mb, max_pages)
        reason = self.unavailable()
        if reason:
            raise UploadRefused(f"The pipeline cannot run here: {reason}.")
        job = Job(id=uuid.uuid4().hex[:16], filename=filename[:200], pages=pages)
        dest = self.work_dir / job.id / _safe_name(filename, kind)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(src), dest)
        with self._lock:
            self.jobs[job.id] = job
            for old in list(self.jobs)[: max(0, len(self.jobs) - self.keep)]:
                del self.jobs[old]
        self._pool.submit(self._run, job, dest, site)
        return job

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self.jobs.get(job_id)

    def recent(self) -> list[Job]:
        with self._lock:
            return list(reversed(self.jobs.values()))[:10]

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _load(self) -> tuple[Any, Any]:
        if self._models is None:
            from edge.detect import load_detector
            from edge.read import PageReader

            self._models = (load_detector(self.edge_cfg.detector), PageReader(self.edge_cfg.reader))
        return self._models

    def _run(self, job: Job, path: Path, site: str) -> None:
        try:
            job.state, job.progress, job.message = "loading", 0.05, "loading the models"
            detector, reader = self._load()
            job.state, job.progress = "reading", 0.15
            job.message = f"reading {job.pages} page{'s' if job.pages != 1 else ''}"
            process_file = importlib.import_module("edge.pipeline").process_file
            cfg = self.edge_cfg.model_copy(deep=True)
            cfg.device.id = UPLOAD_DEVICE
            cfg.device.site = site
            counting = _CountingDetector(detector, job)
            results = process_file(path, cfg, counting, reader, source_kind="upload")
            job.state, job.progress, job.message = (
                "storing",
                0.85,
                f"storing {len(results)} page(s) and their images",
            )
            images = _page_images(path, cfg.source)
            results = [
                _with_upload_source(r, job, images[i] if i < len(images) else None)
                for i, r in enumerate(results)
            ]
            job.documents = self.store(results, images, job)
            failed = sum(1 for r in results if r.status != "ok")
            job.state, job.progress = "done", 1.0
            job.message = f"read {len(results)} page(s)" + (f", {failed} with errors" if failed else "")
        except Exception as exc:  # shown to the admin; the traceback goes to the log
            log.exception("upload %s (%s) failed", job.id, job.filename)
            job.state, job.message = "failed", f"reading failed: {exc}"
        finally:
            shutil.rmtree(path.parent, ignore_errors=True)


class _CountingDetector:
    """The real detector, counting pages as they pass so the progress bar moves per page."""

    def __init__(self, inner: Any, job: Job) -> None:
        self.inner = inner
        self.job = job
        self.name = inner.name
        self.version = inner.version
        self.seen = 0

    def detect(self, image: np.ndarray) -> Any:
        self.seen += 1
        total = max(1, self.job.pages)
        self.job.message = f"reading page {self.seen} of {total}"
        self.job.progress = 0.15 + 0.7 * (self.seen - 1) / total
        return self.inner.detect(image)


def _safe_name(filename: str, kind: str) -> str:
    stem = "".join(c for c in Path(filename).stem if c.isalnum() or c in "-_")[:60] or "upload"
    return stem + {"pdf": ".pdf", "tiff": ".tif"}.get(
        kind, Path(filename).suffix.lower() if Path(filename).suffix else ".png"
    )


def _page_images(path: Path, cfg: SourceConfig) -> list[bytes]:
    """The pages as JPEG, rendered as the pipeline renders them (same DPI), for the image store."""
    from edge.sources.pages import open_pages

    out = []
    for img in open_pages(path, cfg).pages:
        # JPEG at high quality: a fifth of the PNG's size and much faster to encode for a page
        # scan, and still sharp enough to check a signature box against.
        ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(img), [cv2.IMWRITE_JPEG_QUALITY, 90])
        out.append(buf.tobytes() if ok else b"")
    return out


def _with_upload_source(result: Any, job: Job, data: bytes | None) -> Any:
    """Mark the Result as an upload with a per-job URI, and point it at the stored page image."""
    import hashlib

    src = result.source.model_copy(update={"kind": "upload", "uri": f"upload://{job.id}/{job.filename}"})
    update: dict[str, Any] = {"source": src}
    if data:
        img = result.image.model_copy(update={"sha256": hashlib.sha256(data).hexdigest(), "upload": "full"})
        update["image"] = img
    return result.model_copy(update=update)
