"""Training texts for the document-type classifier: Tesseract's reading of corpus pages.

Pages come from the corpus generator (both capture profiles, both languages, classes balanced
round-robin) and are read by the same preprocessing and OCR the edge uses, so the classifier
learns real OCR noise. The OCR output is cached as JSON lines under ``var/classifier/ocr/`` and
reused: retraining never re-reads a page. A run that is stopped resumes where it was.
"""

from __future__ import annotations

import json
import logging
import multiprocessing as mp
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge.contract import DOC_TYPES

log = logging.getLogger(__name__)

CACHE_DIR = Path("var/classifier/ocr")
SPLIT_SEEDS = {"train": 1000, "val": 2000, "test": 3000}
PROFILES = ("scan", "webcam")
LANGS = ("en", "fr")
TOP_FRACTION = 0.5
OCR_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class PageSpec:
    split: str
    index: int
    seed: int
    profile: str
    lang: str
    doc_type: str


def page_specs(split: str, pages: int) -> list[PageSpec]:
    """The pages of a split: classes round-robin, profiles and languages alternating within a class.

    Page ``i`` uses the corpus convention ``page_seed(split seed, i)`` (train 1000, val 2000, test 3000).
    """
    from models.corpus import page_seed

    base = SPLIT_SEEDS[split]
    specs = []
    n = len(DOC_TYPES)
    for i in range(pages):
        k = i // n  # how many pages of this class came before
        specs.append(
            PageSpec(
                split=split,
                index=i,
                seed=page_seed(base, i),
                profile=PROFILES[k % 2],
                lang=LANGS[(k // 2) % 2],
                doc_type=DOC_TYPES[i % n],
            )
        )
    return specs


def cache_path(split: str, cache_dir: Path = CACHE_DIR) -> Path:
    return cache_dir / f"{split}.jsonl"


def load_cached(split: str, cache_dir: Path = CACHE_DIR) -> list[dict[str, Any]]:
    """Cached OCR records of a split (torn last lines from an interrupted run are skipped)."""
    path = cache_path(split, cache_dir)
    if not path.is_file():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return out


def _ocr_one(spec: PageSpec) -> dict[str, Any]:
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")  # one Tesseract thread per worker
    # Imported in the worker: the corpus generator and Tesseract are only needed here.
    from edge.read.ocr import OcrError, read_words
    from edge.read.preprocess import prepare
    from models.corpus import generate_page

    t0 = time.perf_counter()
    page = generate_page(spec.seed, spec.profile, spec.lang, spec.doc_type)  # type: ignore[arg-type]
    t1 = time.perf_counter()
    # Signatures are masked as the edge does with a detector's boxes (ground truth here).
    h, w = page.image.shape[:2]
    boxes = [
        (s["box"][0] / w, s["box"][1] / h, s["box"][2] / w, s["box"][3] / h)
        for s in page.meta.get("signatures", [])
    ]
    prep = prepare(page.image, spec.profile, boxes)  # type: ignore[arg-type]
    binary = prep.ocr_image
    if spec.split != "test" and spec.profile == "scan":
        # Training and calibration text: the top of the page only. The classifier reads the
        # first 128-256 tokens of a page, which come from its top part; reading the rest would
        # double the OCR time of the cache on a shared CPU for text the model never sees.
        binary = binary[: int(binary.shape[0] * TOP_FRACTION)]
    error = None
    try:
        text, n_words = (lambda o: (o.text, len(o.words)))(
            read_words(binary, ["eng", "fra"], timeout=OCR_TIMEOUT_S)
        )
    except OcrError as exc:
        # Kept as an empty reading: the edge gives such a page no text either.
        text, n_words, error = "", 0, str(exc)
    t2 = time.perf_counter()
    meta = page.meta
    return {
        "id": meta.get("id", f"{spec.split}-{spec.index}"),
        "split": spec.split,
        "index": spec.index,
        "seed": spec.seed,
        "profile": spec.profile,
        "lang": spec.lang,
        "doc_type": meta.get("doc_type", spec.doc_type),
        "text": text,
        "error": error,
        "cropped": spec.split != "test" and spec.profile == "scan",
        "truth": meta.get("text", ""),
        "fields": meta.get("fields", {}),
        "signatures": len(meta.get("signatures", [])),
        "expected_signature_places": meta.get("expected_signature_places"),
        "words": n_words,
        "gen_ms": round((t1 - t0) * 1000),
        "ocr_ms": round((t2 - t1) * 1000),
    }


def build_cache(
    split: str, pages: int, workers: int = 1, cache_dir: Path = CACHE_DIR
) -> Iterator[dict[str, Any]]:
    """OCR the pages of a split that are not cached yet, appending each record as it completes."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    done = {r["index"] for r in load_cached(split, cache_dir)}
    todo = [s for s in page_specs(split, pages) if s.index not in done]
    if not todo:
        return
    path = cache_path(split, cache_dir)
    with path.open("a", encoding="utf-8") as fh:
        if workers <= 1:
            results: Iterator[dict[str, Any]] = map(_ocr_one, todo)
            for rec in results:
                fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
                fh.flush()
                yield rec
        else:
            with mp.get_context("spawn").Pool(workers) as pool:
                for rec in pool.imap_unordered(_ocr_one, todo):
                    fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
                    fh.flush()
                    yield rec
