"""The live-video gate: read a document once, when it has been present and still for a moment.

Stillness is the mean absolute difference between consecutive small grey frames. Presence is a
page-like amount of detail (edges) in view, so an empty desk that is perfectly still is not read.
The same document held in view is read once: its difference hash (dHash, 256 bits) is compared with
the last document read, and a new document is read as soon as it is still.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import cv2
import numpy as np

SMALL = (64, 48)


def dhash(image: np.ndarray, size: int = 16, dead_zone: float = 2.0) -> int:
    """Difference hash (size x size bits): where a thumbnail brightens left to right.

    Steps within ``dead_zone`` grey levels count as flat (0), so camera noise on a plain
    background does not flip bits from frame to frame.
    """
    grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    small = cv2.resize(grey, (size + 1, size), interpolation=cv2.INTER_AREA).astype(np.float32)
    bits = ((small[:, 1:] - small[:, :-1]) > dead_zone).flatten()
    out = 0
    for b in bits:
        out = (out << 1) | int(b)
    return out


def hamming(a: int, b: int) -> int:
    return int(bin(a ^ b).count("1"))


@dataclass
class GateDecision:
    still: bool
    present: bool
    fire: bool
    motion: float
    detail: float
    still_since: float | None = None  # monotonic time the view became still (for latency)


class StillGate:
    """Feed every frame; ``fire`` is True once per still document."""

    def __init__(
        self,
        still_s: float,
        motion_threshold: float = 4.0,
        min_detail: float = 0.02,
        same_doc_bits: int = 16,
    ) -> None:
        self.still_s = still_s
        self.motion_threshold = motion_threshold
        self.min_detail = min_detail
        self.same_doc_bits = same_doc_bits
        self._prev: np.ndarray | None = None
        self._still_since: float | None = None
        self._last_hash: int | None = None
        self._fired_this_still = False

    def update(self, image: np.ndarray, now: float | None = None) -> GateDecision:
        now = time.monotonic() if now is None else now
        grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
        small = cv2.resize(grey, SMALL, interpolation=cv2.INTER_AREA).astype(np.int16)
        motion = 255.0 if self._prev is None else float(np.mean(np.abs(small - self._prev)))
        self._prev = small
        edges = cv2.Canny(cv2.resize(grey, (320, 240), interpolation=cv2.INTER_AREA), 60, 160)
        detail = float(np.count_nonzero(edges)) / edges.size
        present = detail >= self.min_detail
        if motion > self.motion_threshold:
            self._still_since = None
            self._fired_this_still = False
            return GateDecision(False, present, False, motion, detail)
        if self._still_since is None:
            self._still_since = now
        still = now - self._still_since >= self.still_s
        fire = False
        if still and present and not self._fired_this_still:
            self._fired_this_still = True
            h = dhash(grey)
            if self._last_hash is None or hamming(h, self._last_hash) > self.same_doc_bits:
                self._last_hash = h
                fire = True
        return GateDecision(still, present, fire, motion, detail, self._still_since)
