"""Write a corpus to disk with all cores: images, YOLO labels, per-page meta, COCO, manifest.

Layout of ``out``::

    images/<id>.jpg|png   the page as the model sees it (JPEG or PNG as the degradation chose)
    labels/<id>.txt       YOLO: ``0 cx cy w h`` per signature, normalised; empty = unsigned
    meta/<id>.json        the full ground truth of the page (see README.md)
    coco.json             signatures of the whole set in COCO detection format
    manifest.jsonl        one line per page: id, files, doc_type, profile, lang, counts

Page ``i`` of a run with seed ``S`` is ``generate_page(page_seed(S, i), ...)``, so any page of a
run can be regenerated alone, and the result does not depend on the number of workers.
"""

from __future__ import annotations

import json
import logging
import multiprocessing as mp
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from models.corpus.page import generate_page, page_seed

log = logging.getLogger(__name__)


def page_id(seed: int, index: int) -> str:
    return f"s{seed}-{index:06d}"


def yolo_lines(meta: dict[str, Any]) -> str:
    """YOLO label text for a page's signatures (class 0), boxes normalised to the image."""
    w, h = meta["width"], meta["height"]
    out = []
    for s in meta["signatures"]:
        x1, y1, x2, y2 = s["box"]
        out.append(
            f"0 {(x1 + x2) / 2 / w:.6f} {(y1 + y2) / 2 / h:.6f} {(x2 - x1) / w:.6f} {(y2 - y1) / h:.6f}"
        )
    return "".join(line + "\n" for line in out)


def write_page(out: Path, pid: str, page: Any) -> dict[str, Any]:
    """Write one page's image, label and meta; returns its manifest row."""
    meta = dict(page.meta)
    meta["id"] = pid
    image = f"images/{pid}.{page.ext}"
    meta["image"] = image
    (out / image).write_bytes(page.encoded)
    (out / "labels" / f"{pid}.txt").write_text(yolo_lines(meta), encoding="utf-8")
    (out / "meta" / f"{pid}.json").write_text(
        json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    return {
        "id": pid,
        "image": image,
        "label": f"labels/{pid}.txt",
        "meta": f"meta/{pid}.json",
        "doc_type": meta["doc_type"],
        "profile": meta["profile"],
        "lang": meta["lang"],
        "width": meta["width"],
        "height": meta["height"],
        "seed": meta["seed"],
        "signatures": len(meta["signatures"]),
        "negatives": len(meta["negatives"]),
        "boxes": [s["box"] for s in meta["signatures"]],
    }


_JOB: dict[str, Any] = {}


def _init(out: str, seed: int, profile: str, lang: str, dpi: int | None) -> None:
    import cv2

    cv2.setNumThreads(1)  # parallelism is one page per process; OpenCV threads would oversubscribe
    _JOB.update(out=Path(out), seed=seed, profile=profile, lang=lang, dpi=dpi)


def _work(index: int) -> dict[str, Any]:
    j = _JOB
    page = generate_page(page_seed(j["seed"], index), j["profile"], j["lang"], dpi=j["dpi"])
    row = write_page(j["out"], page_id(j["seed"], index), page)
    row["index"] = index
    return row


def coco(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """COCO detection json for the set (signatures only; negatives live in the meta files)."""
    images, anns = [], []
    for k, row in enumerate(rows, start=1):
        images.append(
            {
                "id": k,
                "file_name": row["image"],
                "width": row["width"],
                "height": row["height"],
                "page_id": row["id"],
            }
        )
        for x1, y1, x2, y2 in row["boxes"]:
            w, h = x2 - x1, y2 - y1
            anns.append(
                {
                    "id": len(anns) + 1,
                    "image_id": k,
                    "category_id": 1,
                    "bbox": [x1, y1, w, h],
                    "area": w * h,
                    "iscrowd": 0,
                }
            )
    return {
        "info": {"description": "Signet synthetic document corpus", "version": "1"},
        "images": images,
        "annotations": anns,
        "categories": [{"id": 1, "name": "signature", "supercategory": "ink"}],
    }


def iter_rows(
    out: Path, pages: int, seed: int, profile: str, lang: str, workers: int, dpi: int | None = None
) -> Iterator[dict[str, Any]]:
    """Generate pages (in parallel when workers > 1), yielding manifest rows in page order."""
    for sub in ("images", "labels", "meta"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    if workers <= 1:
        _init(str(out), seed, profile, lang, dpi)
        for i in range(pages):
            yield _work(i)
        return
    # Not "fork": a parent that already ran OpenCV or Faker code may hold thread-pool locks that
    # a forked child inherits locked (seen as a hang when tests generate pages first). A fork
    # server forks from a clean process instead, and costs one import per run, not per page.
    methods = mp.get_all_start_methods()
    ctx = mp.get_context("forkserver" if "forkserver" in methods else "spawn")
    with ctx.Pool(workers, initializer=_init, initargs=(str(out), seed, profile, lang, dpi)) as pool:
        yield from pool.imap(_work, range(pages), chunksize=max(1, min(16, pages // (workers * 8) or 1)))


def generate(
    out: Path,
    pages: int,
    seed: int,
    profile: str = "mixed",
    lang: str = "mixed",
    workers: int | None = None,
    dpi: int | None = None,
) -> None:
    """Write ``pages`` pages seeded with ``seed`` to ``out`` using ``workers`` processes
    (default: all cores). Deterministic: the same arguments give the same files."""
    if pages < 1:
        raise ValueError("pages must be at least 1")
    if profile not in ("scan", "webcam", "mixed"):
        raise ValueError(f"profile must be scan, webcam or mixed; got {profile!r}")
    if lang not in ("en", "fr", "mixed"):
        raise ValueError(f"lang must be en, fr or mixed; got {lang!r}")
    out = Path(out)
    workers = workers or os.cpu_count() or 1
    t0 = time.perf_counter()
    rows = []
    for row in iter_rows(out, pages, seed, profile, lang, min(workers, pages), dpi):
        rows.append(row)
        if len(rows) % 100 == 0:
            log.info("%d/%d pages", len(rows), pages)
    (out / "coco.json").write_text(json.dumps(coco(rows)), encoding="utf-8")
    with (out / "manifest.jsonl").open("w", encoding="utf-8") as f:
        for row in rows:
            row = {k: v for k, v in row.items() if k not in ("boxes", "index")}
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    dt = time.perf_counter() - t0
    log.info("wrote %d pages to %s in %.1fs (%.2f pages/s, %d workers)", pages, out, dt, pages / dt, workers)
