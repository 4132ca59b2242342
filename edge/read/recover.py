"""Text that Tesseract's layout analysis left out, read again on its own.

Tesseract sometimes drops a whole column of a page: on a clean purchase order it read the labels
"No.:", "Date:", "Order ref.:" and gave no block at all for the values printed beside them. The
ink is there; only the page segmentation missed it. Here the glyph-sized ink that no word box
covers is grouped into lines, and each line is read alone as one text line; the words found are
added to the page's Tesseract data as blocks of their own, so the reading order places them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import cv2
import numpy as np

# A word read alone must hold a letter or digit: a lone dash, bar or quote is a rule's end, a
# stamp's border or a speck.
RE_WORDLIKE = re.compile(r"[^\W_]")
# A figure of a table column: a quantity, a price or an amount, a speck at either end allowed.
RE_FIGURE = re.compile(r"^[^\w]?[-+]?\d[\d.,']*[^\w]?$")

# A component is glyph-like between these many typical glyph heights tall ...
GLYPH_MIN, GLYPH_MAX = 0.4, 2.5
GLYPH_MAX_WIDE = 4.0  # ... and at most this many wide (a few touching letters)
COVER_PAD = 0.3  # glyph heights around each word box that count as covered
LINE_GAP = 1.2  # glyph heights between two glyphs of one line
MAX_ANGLE = 3.0  # degrees: a line of glyphs set at a steeper angle is a stamp
ANGLE_MIN_GLYPHS = 6  # ... judged on this many glyphs at least (a short word's feet say little)
MIN_GLYPHS = 3  # a region with fewer missed glyphs is a speck or a stray mark
MIN_WIDTH = 2.5  # glyph heights: narrower regions are not worth a read
MAX_REGIONS = 12  # reads a page may spend on missed text
MIN_CONF = 60.0  # Tesseract's percent: a word read alone below this is not kept
CROP_PAD = 0.6  # glyph heights of the page kept around a region read
LINE_PSM, LINES_PSM = 7, 6  # Tesseract's page segmentation modes for one line, and a block of a few
MIN_INK_SHARE = 0.6  # of a region's glyphs that must be uncovered (a region that is most
# covered is a word Tesseract read already, with a piece left over)
COLUMN_GAP = 2.5  # glyph heights between two short figures of one table column, one above the other
COLUMN_CELLS = 3  # short figures a column needs to be read as one
MAX_COLUMNS = 4  # such columns a page may spend reads on, besides MAX_REGIONS lines


def _glyph_height(heights: np.ndarray, least: int) -> float:
    usable = heights[heights >= least]  # a speck is no glyph
    return float(np.median(usable)) if usable.size >= 20 else 0.0


def missed_regions(
    gray: np.ndarray, data: dict[str, list[Any]], half: bool = False
) -> tuple[list[tuple[int, int, int, int]], float]:
    """Boxes (x1, y1, x2, y2, page pixels) of lines of glyph-like ink that no word of ``data``
    (Tesseract's columns) covers, and of table columns of short figures it left out (see
    ``_columns``), biggest first, and the glyph height used (0: too little ink to tell, no
    regions). ``half`` looks at a half-size copy: enough for a scan's sharp glyphs and a third
    of the time (80 validation scans: CER 9.80% against 9.86% at full size), not for a camera
    page's blurred ones, which run together (80 stills: 23.22% against 22.74%)."""
    regions, g = _regions(gray, data, half)
    return [box for box, _column in regions], g


Region = tuple[tuple[int, int, int, int], bool]  # a box, and whether it is a column of figures


def _regions(gray: np.ndarray, data: dict[str, list[Any]], half: bool) -> tuple[list[Region], float]:
    """``missed_regions``, each box with whether it is a column of figures (``recover`` keeps
    only figures from those)."""
    if half:
        small = cv2.resize(
            gray, (max(1, gray.shape[1] // 2), max(1, gray.shape[0] // 2)), interpolation=cv2.INTER_AREA
        )
        boxes = {k: [int(v) // 2 for v in data[k]] for k in ("left", "top", "width", "height")}
        regions, g = _missed(small, {**data, **boxes}, least=3)
        return [((2 * a, 2 * b, 2 * c, 2 * d), col) for (a, b, c, d), col in regions], 2 * g
    return _missed(gray, data, least=6)


def _missed(gray: np.ndarray, data: dict[str, list[Any]], least: int) -> tuple[list[Region], float]:
    _, ink = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    n, _, stats, centres = cv2.connectedComponentsWithStats(ink, connectivity=8)
    if n <= 1:
        return [], 0.0
    stats, centres = stats[1:], centres[1:]
    hts, wds = stats[:, cv2.CC_STAT_HEIGHT], stats[:, cv2.CC_STAT_WIDTH]
    g = _glyph_height(hts[(hts < gray.shape[0] / 20) & (wds < gray.shape[1] / 20)], least)
    if g <= 0:
        return [], 0.0
    glyphs = (hts >= GLYPH_MIN * g) & (hts <= GLYPH_MAX * g) & (wds <= GLYPH_MAX_WIDE * g)
    covered = np.zeros(gray.shape[:2], np.uint8)
    pad = round(COVER_PAD * g)
    for i in range(len(data["text"])):
        if not (data["text"][i] or "").strip() or float(data["conf"][i]) < 0:
            continue
        x, y, w, h = (int(data[k][i]) for k in ("left", "top", "width", "height"))
        cv2.rectangle(covered, (x - pad, y - pad), (x + w + pad, y + h + pad), 1, -1)
    cx = np.clip(centres[:, 0].round().astype(int), 0, gray.shape[1] - 1)
    cy = np.clip(centres[:, 1].round().astype(int), 0, gray.shape[0] - 1)
    missed = glyphs & (covered[cy, cx] == 0)
    if missed.sum() < MIN_GLYPHS:
        return [], g
    marks = np.zeros(gray.shape[:2], np.uint8)
    for x, y, w, h in stats[missed][:, :4]:
        marks[y : y + h, x : x + w] = 255
    gap = max(3, round(LINE_GAP * g))
    lines = cv2.dilate(marks, np.ones((1, gap), np.uint8))
    _, _, rstats, _ = cv2.connectedComponentsWithStats(lines, connectivity=8)
    out = []
    stubs = np.zeros(gray.shape[:2], np.uint8)  # lines too short to read alone
    for x, y, w, h, _area in rstats[1:]:
        inside = (cx >= x) & (cx < x + w) & (cy >= y) & (cy < y + h) & glyphs
        n_missed = int((inside & missed).sum())
        if n_missed < MIN_INK_SHARE * int(inside.sum()):
            continue
        if n_missed < MIN_GLYPHS or w < MIN_WIDTH * g:
            if n_missed:
                stubs[y : y + h, x : x + w] = 255
            continue
        pick = inside & missed
        # Glyph feet along a line set at an angle on a levelled page: a stamp, not print.
        feet = stats[pick, cv2.CC_STAT_TOP] + stats[pick, cv2.CC_STAT_HEIGHT]
        if pick.sum() >= ANGLE_MIN_GLYPHS:
            slope = np.polyfit(centres[pick, 0], feet.astype(np.float64), 1)[0]
            if abs(np.degrees(np.arctan(slope))) > MAX_ANGLE:
                continue
        out.append(((int(x), int(y), int(x + w), int(y + h)), False))
    out.sort(key=lambda r: -(r[0][2] - r[0][0]) * (r[0][3] - r[0][1]))
    columns = sorted(_columns(stubs, g), key=lambda b: -(b[3] - b[1]))[:MAX_COLUMNS]
    return out[:MAX_REGIONS] + [(box, True) for box in columns], g


def _columns(stubs: np.ndarray, g: float) -> list[tuple[int, int, int, int]]:
    """A table column of short figures that the page segmentation dropped ("3", "24", "10"
    under "Ordered"): each is too short to read alone, but COLUMN_CELLS or more of them, one
    above the other at most COLUMN_GAP glyph heights apart, are read together as a block."""
    gap = max(3, round(COLUMN_GAP * g))
    joined = cv2.dilate(stubs, np.ones((gap, 1), np.uint8))
    _, _, cstats, _ = cv2.connectedComponentsWithStats(joined, connectivity=8)
    out = []
    for x, y, w, h, _area in cstats[1:]:
        part = stubs[y : y + h, x : x + w]
        if cv2.connectedComponentsWithStats(part, connectivity=8)[0] - 1 >= COLUMN_CELLS:
            ys = np.flatnonzero(part.any(axis=1))
            out.append((int(x), int(y + ys[0]), int(x + w), int(y + ys[-1] + 1)))
    return out


def recover(
    gray: np.ndarray,
    data: dict[str, list[Any]],
    read: Callable[[np.ndarray, int], dict[str, list[Any]] | None],
    half: bool = False,
) -> dict[str, list[Any]]:
    """``data`` with the words read in ``missed_regions`` (``half``: see there) added, each
    region as a block of its own after the last. ``read(image, psm)`` is the page reader's
    Tesseract call; it answers None when the page's time is spent, and the regions not yet read
    are then left."""
    regions, g = _regions(gray, data, half)
    if not regions:
        return data
    out = {k: list(v) for k, v in data.items()}
    block = max((int(b) for b in data["block_num"]), default=0)
    h, w = gray.shape[:2]
    pad = round(CROP_PAD * g)
    for (x1, y1, x2, y2), column in regions:
        ax, ay, bx, by = max(0, x1 - pad), max(0, y1 - pad), min(w, x2 + pad), min(h, y2 + pad)
        crop = gray[ay:by, ax:bx]
        psm = LINE_PSM if (y2 - y1) < 2 * g else LINES_PSM
        got = read(cv2.copyMakeBorder(crop, pad, pad, pad, pad, cv2.BORDER_REPLICATE), psm)
        if got is None:
            break
        kept = [
            i
            for i in range(len(got["text"]))
            if RE_WORDLIKE.search(got["text"][i] or "")
            and float(got["conf"][i]) >= MIN_CONF
            # a column is read for its figures: letters there are pieces of words read already
            and (not column or RE_FIGURE.match(got["text"][i] or ""))
        ]
        # Page coordinates. A column's figure that a word already read covers (Tesseract's, or
        # one of a line read again as a block) is not added twice.
        at = {i: (int(got["left"][i]) - pad + ax, int(got["top"][i]) - pad + ay) for i in kept}
        if column:
            kept = [
                i for i in kept if not _read_already(out, at[i], int(got["width"][i]), int(got["height"][i]))
            ]
        if not kept:
            continue
        block += 1
        for i in kept:
            for k in out:
                out[k].append(got[k][i])
            out["block_num"][-1] = block
            out["left"][-1], out["top"][-1] = at[i]
    return out


def _read_already(out: dict[str, list[Any]], at: tuple[int, int], w: int, h: int) -> bool:
    """Whether a word found at ``at`` (w x h) overlaps a word of ``out`` by half of the smaller
    of the two boxes."""
    x, y = at
    for j in range(len(out["text"])):
        if not (out["text"][j] or "").strip() or float(out["conf"][j]) < 0:
            continue
        ox, oy, ow, oh = (int(out[k][j]) for k in ("left", "top", "width", "height"))
        ix = min(x + w, ox + ow) - max(x, ox)
        iy = min(y + h, oy + oh) - max(y, oy)
        if ix > 0 and iy > 0 and ix * iy >= 0.5 * min(w * h, ow * oh):
            return True
    return False
