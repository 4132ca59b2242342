"""Turn a scanned file into pages: images, multi-page TIFF and PDF (rendered with pypdfium2).

Everything a scanner folder can receive is checked before it is decoded: the type by its magic
bytes (not its name), emptiness, file size, pixel count (read from the header, so a decompression
bomb is refused without being decoded) and the PDF page limit. A refusal is a :class:`PageError`
whose message is the reason written beside the file in failed/.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageSequence

from edge.config import SourceConfig

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".pnm", ".ppm", ".pgm"}
PAGE_SUFFIXES = IMAGE_SUFFIXES | {".pdf"}


class PageError(ValueError):
    """A file that cannot become pages; the message says why (it goes into the reason file)."""


@dataclass
class PagedFile:
    """A checked file: how many pages it has and a lazy iterator over them (BGR uint8)."""

    path: Path
    kind: str  # "pdf", "tiff", "image"
    page_count: int
    dpi: int | None
    pages: Iterator[np.ndarray]


def sniff(head: bytes) -> str | None:
    """The file type from its first bytes, or None when it is not one we read."""
    if head.startswith(b"%PDF"):
        return "pdf"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    if head.startswith(b"\x89PNG\r\n\x1a\n") or head.startswith(b"\xff\xd8\xff") or head.startswith(b"BM"):
        return "image"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image"
    if head[:2] in (b"P5", b"P6", b"P4", b"P1", b"P2", b"P3"):
        return "image"
    return None


def to_bgr(img: np.ndarray) -> np.ndarray:
    """Grey, RGBA and 16-bit images as BGR uint8 (what the detector and reader take)."""
    if img.dtype == np.uint16:
        img = (img / 257).astype(np.uint8)
    elif img.dtype != np.uint8:
        img = np.clip(img, 0, 255).astype(np.uint8)
    if img.ndim == 2:
        return cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    if img.shape[2] == 4:
        return cv2.cvtColor(img, cv2.COLOR_BGRA2BGR)
    return img


def _pil_to_bgr(im: Image.Image) -> np.ndarray:
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(im, dtype=np.uint32)
        arr8 = (arr >> 8).astype(np.uint8) if arr.max() > 255 else arr.astype(np.uint8)
        return cv2.cvtColor(arr8, cv2.COLOR_GRAY2BGR)
    rgb = im.convert("RGB")
    return cv2.cvtColor(np.asarray(rgb), cv2.COLOR_RGB2BGR)


def open_pages(path: Path, cfg: SourceConfig) -> PagedFile:
    """Check ``path`` and return its pages lazily; raises :class:`PageError` with the reason."""
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            head = fh.read(16)
    except OSError as exc:
        raise PageError(f"cannot read file: {exc.strerror or exc}") from exc
    if size == 0:
        raise PageError("empty file (0 bytes)")
    if size > cfg.max_file_mb * 1_048_576:
        raise PageError(f"file too large: {size / 1_048_576:.0f} MB over the {cfg.max_file_mb} MB limit")
    kind = sniff(head)
    if kind is None:
        raise PageError(
            f"unsupported file type ({path.suffix or 'no extension'}): expected an image, TIFF or PDF"
        )
    if kind == "pdf":
        return _open_pdf(path, cfg)
    return _open_image(path, kind, cfg)


def _check_pixels(w: int, h: int, cfg: SourceConfig, what: str) -> None:
    if w <= 0 or h <= 0:
        raise PageError(f"{what} has no pixels ({w}x{h})")
    if w * h > cfg.max_image_pixels:
        raise PageError(f"{what} too large: {w}x{h} pixels over the {cfg.max_image_pixels} pixel limit")


def _open_image(path: Path, kind: str, cfg: SourceConfig) -> PagedFile:
    Image.MAX_IMAGE_PIXELS = None  # we apply our own limit from the header, with our own message
    try:
        im = Image.open(path)
        w, h = im.size
        frames = getattr(im, "n_frames", 1)
    except Exception as exc:  # PIL raises many types for broken headers
        raise PageError(f"corrupt or unreadable image: {exc}") from exc
    _check_pixels(w, h, cfg, "image")
    if frames > cfg.pdf_max_pages:
        raise PageError(f"{frames} pages, more than the limit of {cfg.pdf_max_pages}")
    dpi_info = im.info.get("dpi")
    dpi = round(float(dpi_info[0])) if dpi_info and float(dpi_info[0]) > 1 else None
    # Decode the first page now so that a truncated file fails here, before anything is stored.
    try:
        first = _pil_to_bgr(ImageSequence.Iterator(im)[0])
    except Exception as exc:
        raise PageError(f"corrupt image data: {exc}") from exc

    def pages() -> Iterator[np.ndarray]:
        yield first
        for i in range(1, frames):
            try:
                frame = ImageSequence.Iterator(im)[i]
                _check_pixels(*frame.size, cfg, f"page {i + 1}")
                yield _pil_to_bgr(frame)
            except PageError:
                raise
            except Exception as exc:
                raise PageError(f"corrupt page {i + 1}: {exc}") from exc
        im.close()

    return PagedFile(
        path, "tiff" if kind == "tiff" else "image", frames, dpi if dpi and dpi <= 2400 else None, pages()
    )


def _open_pdf(path: Path, cfg: SourceConfig) -> PagedFile:
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(str(path))
    except Exception as exc:
        raise PageError(f"corrupt or encrypted PDF: {exc}") from exc
    n = len(pdf)
    if n == 0:
        pdf.close()
        raise PageError("PDF has no pages")
    if n > cfg.pdf_max_pages:
        pdf.close()
        raise PageError(
            f"PDF has {n} pages, more than the limit of {cfg.pdf_max_pages} (source.pdf_max_pages)"
        )
    scale = cfg.pdf_dpi / 72.0
    for i in range(n):
        w_pt, h_pt = pdf[i].get_size()
        _check_pixels(round(w_pt * scale), round(h_pt * scale), cfg, f"PDF page {i + 1} at {cfg.pdf_dpi} dpi")

    def pages() -> Iterator[np.ndarray]:
        try:
            for i in range(n):
                try:
                    bitmap = pdf[i].render(scale=scale)
                    rgb = np.asarray(bitmap.to_pil().convert("RGB"))
                except Exception as exc:
                    raise PageError(f"PDF page {i + 1} cannot be rendered: {exc}") from exc
                yield cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
        finally:
            pdf.close()

    return PagedFile(path, "pdf", n, cfg.pdf_dpi, pages())
