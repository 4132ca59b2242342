"""Handwritten or printed: a small CNN that looks at each word Tesseract read on a scan.

A form filled in by hand, a date written beside a signature, initials in a margin: Tesseract
reads them as words, mostly wrong, and they are not the page's printed text. The reader keeps
them among its words (with ``hand``, the model's probability), so nothing is lost and the fields
still see them, but leaves the ones the model is sure of out of the page's text.

The model is one ONNX file (``models/artifacts/handwriting.onnx``, trained by
``signet models train-handwriting``) whose metadata carries its name, version, crop size and
threshold. Every word is cut out of the page Tesseract read with a margin, brought to CROP_H
pixels high keeping its shape (squeezed only when longer than CROP_W), ink made positive and
its contrast stretched, so a faint pencil word and a black printed one look alike in level.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from edge.read.onnx_cpu import cpu_session

log = logging.getLogger(__name__)

CROP_H = 32  # pixels high each word is brought to
CROP_W = 128  # ... and at most this wide (longer words are squeezed)
MARGIN = 0.15  # of the word's height, kept around its box
BATCH = 256  # words per ONNX Runtime call


class HandwritingUnavailable(RuntimeError):
    """The handwriting model is missing or unusable; the message says why."""


def word_crop(gray: np.ndarray, box: Sequence[float]) -> np.ndarray:
    """One word of ``gray`` (box normalised x1, y1, x2, y2) as a CROP_H x CROP_W float32 array,
    ink 1 and paper 0, left-aligned on paper."""
    h, w = gray.shape[:2]
    x1, y1, x2, y2 = box[0] * w, box[1] * h, box[2] * w, box[3] * h
    m = MARGIN * max(1.0, y2 - y1)
    xa, ya = max(0, int(x1 - m)), max(0, int(y1 - m))
    xb, yb = min(w, int(np.ceil(x2 + m))), min(h, int(np.ceil(y2 + m)))
    out = np.zeros((CROP_H, CROP_W), np.float32)
    if xb - xa < 2 or yb - ya < 2:
        return out
    piece = gray[ya:yb, xa:xb]
    ch, cw = piece.shape[:2]
    nw = max(1, min(CROP_W, round(cw * CROP_H / ch)))
    interp = cv2.INTER_AREA if ch > CROP_H else cv2.INTER_LINEAR
    small = cv2.resize(piece, (nw, CROP_H), interpolation=interp)
    levels = np.sort(small, axis=None)  # uint8: cheaper than two np.percentile calls
    lo, hi = float(levels[int(0.02 * (levels.size - 1))]), float(levels[int(0.98 * (levels.size - 1))])
    out[:, :nw] = np.clip((hi - small.astype(np.float32)) / max(hi - lo, 32.0), 0.0, 1.0)
    return out


def word_crops(gray: np.ndarray, boxes: Sequence[Sequence[float]]) -> np.ndarray:
    """``word_crop`` of every box, stacked N x 1 x CROP_H x CROP_W (what the model reads)."""
    if gray.ndim == 3:
        gray = cv2.cvtColor(gray, cv2.COLOR_BGR2GRAY)
    crops = np.zeros((len(boxes), 1, CROP_H, CROP_W), np.float32)
    for i, box in enumerate(boxes):
        crops[i, 0] = word_crop(gray, box)
    return crops


@dataclass(frozen=True)
class HandwritingInfo:
    name: str
    version: str
    threshold: float


class HandwritingModel:
    """Load once per process; ``probabilities`` gives each word's chance of being handwritten."""

    def __init__(self, path: Path, threads: int = 1) -> None:
        path = Path(path)
        self.session, meta = cpu_session(path, threads, "handwriting model", HandwritingUnavailable)
        try:
            crop = json.loads(meta.get("crop", f"[{CROP_H}, {CROP_W}]"))
            threshold = float(meta["threshold"])
        except (KeyError, ValueError) as exc:
            raise HandwritingUnavailable(f"{path} lacks the handwriting model's metadata ({exc})") from exc
        if list(crop) != [CROP_H, CROP_W]:
            raise HandwritingUnavailable(f"{path} reads {crop} crops; this reader makes {[CROP_H, CROP_W]}")
        self.info = HandwritingInfo(meta.get("name", path.stem), meta.get("version", "?"), threshold)
        self.input = self.session.get_inputs()[0].name

    def probabilities(self, gray: np.ndarray, boxes: Sequence[Sequence[float]]) -> np.ndarray:
        """P(handwritten) of each word box (normalised to ``gray``)."""
        if not len(boxes):
            return np.zeros(0, np.float32)
        crops = word_crops(gray, boxes)
        out = []
        for i in range(0, len(crops), BATCH):
            (logit,) = self.session.run(None, {self.input: crops[i : i + BATCH]})
            out.append(1.0 / (1.0 + np.exp(-np.asarray(logit, np.float64).reshape(-1))))
        return np.concatenate(out).astype(np.float32)
