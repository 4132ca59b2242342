"""Word crops of corpus scans, labelled handwritten or printed, for the handwriting model.

Each page is generated, prepared and read by Tesseract the way the edge reader does it, so the
crops are the words the model will be shown: Tesseract's boxes on the page it read. A word is
handwritten where its centre lies in ink the generator drew by hand (a form filled in by hand,
a mention or date beside a signature, initials, a scribble; the page's metadata holds their
boxes), printed otherwise: typed form values, script-face letterheads and stamps included.
Words in a signature's box are labelled UNSURE and left out of training: the box is the
signature's bounding rectangle, and the printed name or date it crosses lies inside it too
(the reader deals with those words by the detector's boxes). Crops are cached as uint8 under
``var/hand/`` and reused.
"""

from __future__ import annotations

import logging
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

CACHE_DIR = Path("var/hand")
HAND_KINDS = ("annotation", "initials", "scribble")  # negatives of the detector drawn by hand
UNSURE = 2  # the label of a word in a signature's box


def _page_boxes(prep: Any, shape: tuple[int, ...], boxes: list[list[float]]) -> list[tuple[float, ...]]:
    """Input-pixel boxes brought onto the prepared page (normalised), as axis-aligned boxes."""
    from edge.read.preprocess import input_box_to_page

    return [input_box_to_page(prep, shape, b) for b in boxes]


def page_words(spec: Any) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(uint8 crops N x H x W, labels N, word texts) of one corpus page, read as the edge does
    (a camera page: flattened from the outline found, where one is)."""
    from edge.read.hand import word_crops
    from edge.read.ocr import read_words
    from edge.read.preprocess import prepare
    from models.corpus import generate_page

    page = generate_page(spec.seed, spec.profile, spec.lang, spec.doc_type)
    h, w = page.image.shape[:2]
    sig = [
        (s["box"][0] / w, s["box"][1] / h, s["box"][2] / w, s["box"][3] / h) for s in page.meta["signatures"]
    ]
    prep = prepare(page.image, spec.profile, sig)
    sharp = spec.profile == "scan"
    words = read_words(prep.ocr_image, ["eng", "fra"], 60.0, recover_missed=True, sharp=sharp).words
    hand = _page_boxes(
        prep, page.image.shape, [n["box"] for n in page.meta["negatives"] if n["kind"] in HAND_KINDS]
    )
    signed = _page_boxes(prep, page.image.shape, [s["box"] for s in page.meta["signatures"]])
    labels = np.zeros(len(words), np.uint8)
    for i, wd in enumerate(words):
        cx, cy = (wd.box[0] + wd.box[2]) / 2, (wd.box[1] + wd.box[3]) / 2
        if any(b[0] <= cx <= b[2] and b[1] <= cy <= b[3] for b in signed):
            labels[i] = UNSURE
        elif any(b[0] <= cx <= b[2] and b[1] <= cy <= b[3] for b in hand):
            labels[i] = 1
    crops = word_crops(prep.ocr_image, [wd.box for wd in words])[:, 0]
    return (crops * 255).round().astype(np.uint8), labels, [wd.text for wd in words]


def split_words(split: str, pages: int, workers: int = 2, profile: str = "scan") -> dict[str, np.ndarray]:
    """Crops, labels, page index and text of every word on the pages of ``profile`` among a
    split's first ``pages`` specs (``models.classifier.data.page_specs``); cached by split, page
    count and profile. The shipped model is trained on scans only."""
    from models.classifier.data import page_specs

    cache = CACHE_DIR / (f"{split}_{pages}.npz" if profile == "scan" else f"{split}_{pages}_{profile}.npz")
    if cache.is_file():
        with np.load(cache) as z:
            return {k: z[k] for k in z.files}
    specs = [s for s in page_specs(split, pages) if s.profile == profile]
    log.info("reading %d %s %s pages for handwriting crops", len(specs), split, profile)
    with ProcessPoolExecutor(max(1, workers)) as ex:
        rows = list(ex.map(page_words, specs, chunksize=2))
    out = {
        "x": np.concatenate([r[0] for r in rows]) if rows else np.zeros((0, 1, 1), np.uint8),
        "y": np.concatenate([r[1] for r in rows]) if rows else np.zeros(0, np.uint8),
        "page": np.concatenate([np.full(len(r[1]), s.index) for r, s in zip(rows, specs, strict=True)]),
        "text": np.array([t for r in rows for t in r[2]], dtype=object).astype(str),
    }
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(cache, **out)
    return out
