"""Page preprocessing before OCR: input checks, signature masking, page finding for webcam frames,
orientation and skew correction, resolution normalisation, denoising and adaptive binarisation.

Every step is a small function that can be tested alone; ``prepare`` chains them. Nothing here
calls Tesseract except the optional orientation check in ``ocr.detect_orientation``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import cv2
import numpy as np

log = logging.getLogger(__name__)

Profile = Literal["scan", "webcam"]

MIN_SIDE = 16  # below this there is no text to read
MAX_SIDE = 12_000  # larger images are scaled down before anything else (20,000 px scans)
TARGET_WIDTH = 1700  # an A4 page at ~200 dpi: Tesseract reads 10 pt text well at this scale
RULE_LEN = 1 / 30  # share of the page width from which a straight run of ink is a rule, not a glyph
RULE_GLYPHS = 5.0  # ... and at least this many times the height of a typical glyph
RULE_THICKNESS = 0.6  # ... and at most this share of a typical glyph's height thick
RULE_GAP = 0.5  # gaps of a dotted or dashed rule up to this share of a glyph's height are bridged
DOTTED_THICKNESS = 0.3  # the dots and dashes of a dotted rule are at most this share of a glyph high
MIN_DESKEW = 1.0  # degrees; smaller skew is left to Tesseract
WIDE_SKEW = 25.0  # degrees: the widest skew looked for (a hand-held page)
MIN_WORK_WIDTH = 1800  # webcam pages are upscaled so their text reaches a height Tesseract reads well
SPECKLED = 1000.0  # specks per megapixel above which a scan may be median-filtered before OCR
SPECK_SHARE = 0.7  # ... if the specks are also this share of its dark components (not a font's dots)
# Pages up to this many pixels (A4 at about 300 dpi) may be despeckled at double size.
FINE_DESPECKLE_MAX_PX = 9_000_000
FAINT_DEPTH = 40  # grey levels under the paper from which a pixel can be faint print ...
FAINT_NOISE = 5.0  # ... and at least this many times the paper's noise (robust sigma)
FAINT_INK = 40  # the grey the deepest faint print is brought down to
OTHER_OUTLINES = 2  # webcam: page outlines kept besides the best, for the reader to try ...
SAME_OUTLINE_IOU = 0.85  # ... each differing from those kept (overlap under this IoU)
PARALLEL_SLACK = 15.0  # degrees off parallel that a page outline's opposite sides may be ...
PARALLEL_FALLOFF = 10.0  # ... and how fast its score falls beyond (a factor e per this many)
FAINT_MAX_ANGLE = 4.0  # degrees: faint words set at a steeper angle are a stamp, left as they are


class InputError(ValueError):
    """An image that cannot be read at all (empty, wrong type, corrupt)."""


@dataclass
class Prepared:
    """A page ready for OCR, with what was done to it."""

    gray: np.ndarray  # corrected page, grey, normalised resolution
    binary: (
        np.ndarray
    )  # binarised page, text black on white (webcam: what OCR reads; scans: half size, for checks)
    scale: float  # work pixels per input pixel (after perspective correction, if any)
    rotation: int = 0  # clockwise degrees the page was turned to read upright (0/90/180/270)
    skew: float = 0.0  # degrees of skew removed
    page_found: bool = False  # webcam: a page outline was found and flattened
    notes: list[str] = field(default_factory=list)
    # Longer side of the page in the source pixels (webcam: of the flattened page, or of the
    # whole frame when no outline was found): how much real detail there is to read, whatever
    # the upscaling that follows.
    source_px: int = 0
    profile: Profile = "scan"
    flat: np.ndarray | None = None  # webcam: the grey page with its uneven light divided out
    ruled: np.ndarray | None = None  # scans: the grey page with its ruled lines painted out
    # webcam: the next best page outlines found (input pixels), for a reader whose page gave
    # little text to try (see ``find_pages``)
    other_outlines: list[np.ndarray] = field(default_factory=list)
    # scans: where signature strokes were painted out (0) on this page, else 255; None when no
    # signature was painted
    painted: np.ndarray | None = None
    despeckled: int = 0  # scans: median passes run on a speckled page (see ``despeckle``)
    fine_despeckle: bool = False  # ... run on the page doubled in size
    # webcam, page found: the perspective transform from input pixels to the flattened page's
    # pixels (before its resolution was normalised), and that page's (width, height)
    warp: np.ndarray | None = None
    warp_size: tuple[int, int] = (0, 0)

    @property
    def ocr_image(self) -> np.ndarray:
        """What Tesseract reads: grey, so its own threshold sees the soft edges of blurred text.
        Scans: the corrected grey page; webcam frames: the page with the light flattened (on 16
        corpus stills read with their true outline, order-free CER 36% from our adaptive
        binary, 25% from this)."""
        if self.profile == "webcam" and self.flat is not None:
            return self.flat
        if self.ruled is not None:
            return self.ruled
        return self.gray


def to_gray(image: np.ndarray) -> np.ndarray:
    """Accept grey, BGR, BGRA, 16-bit or float images and return 8-bit grey."""
    if not isinstance(image, np.ndarray):
        raise InputError(f"expected a numpy image, got {type(image).__name__}")
    if image.size == 0 or image.ndim not in (2, 3):
        raise InputError(f"not an image: shape {image.shape}")
    img = image
    if img.dtype == np.uint16:
        img = (img >> 8).astype(np.uint8)
    elif img.dtype in (np.float32, np.float64):
        hi = float(np.nanmax(img)) if img.size else 1.0
        img = np.clip(np.nan_to_num(img) * (255.0 if hi <= 1.0 else 1.0), 0, 255).astype(np.uint8)
    elif img.dtype == np.bool_:
        img = img.astype(np.uint8) * 255
    elif img.dtype != np.uint8:
        raise InputError(f"unsupported pixel type {img.dtype}")
    if img.ndim == 3:
        channels = img.shape[2]
        if channels == 1:
            img = img[:, :, 0]
        elif channels == 3:
            img = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
        elif channels == 4:
            # Transparent pixels are paper: composite on white before dropping alpha.
            alpha = img[:, :, 3:4].astype(np.float32) / 255.0
            rgb = img[:, :, :3].astype(np.float32) * alpha + 255.0 * (1.0 - alpha)
            img = cv2.cvtColor(rgb.astype(np.uint8), cv2.COLOR_BGR2GRAY)
        else:
            raise InputError(f"unsupported channel count {channels}")
    return np.ascontiguousarray(img)


def glyph_height(ink: np.ndarray) -> float:
    """A typical printed glyph's height in pixels: the median height of the dark components of
    the half-size binary page ``ink`` (255 = ink), 20 px where there are too few to tell."""
    h, w = ink.shape[:2]
    half = cv2.resize(ink, (max(1, w // 2), max(1, h // 2)), interpolation=cv2.INTER_AREA)
    _, _, stats, _ = cv2.connectedComponentsWithStats((half > 127).astype(np.uint8), connectivity=8)
    heights = 2 * stats[1:, cv2.CC_STAT_HEIGHT]
    heights = heights[(heights >= 6) & (heights < h / 20)]
    return float(np.median(heights)) if heights.size >= 20 else 20.0


@dataclass
class Ink:
    """A grey page's dark ink (Otsu's threshold, 255 = ink) and, once asked for, its typical
    glyph height: what ``lift_faint`` and ``remove_rules`` both start from. ``prepare`` hands the
    same one to both where lifting left the page as it was (most pages), and the thresholding
    and component count are paid once."""

    dark: np.ndarray
    _glyph: float | None = None

    @classmethod
    def of(cls, gray: np.ndarray) -> Ink:
        _, dark = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
        return cls(dark)

    @property
    def glyph(self) -> float:
        if self._glyph is None:
            self._glyph = glyph_height(self.dark)
        return self._glyph


# Signature masking by strokes: inside a signature box, ink components taller than
# STROKE_TALL glyph heights or wider than STROKE_WIDE are pen strokes (with any glyph they
# cross); smaller ones are the printed words a signature is written over, and are kept.
MASK_STROKES = True
STROKE_TALL = 1.5
STROKE_WIDE = 6.0


MASK_PAD = 0.004  # of the page's size, added around each signature box painted out


def _pixel_rect(
    box: tuple[float, float, float, float], w: int, h: int, pad: float
) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """A normalised box, padded, as pixel corners clipped to the image; None for a box that
    marks nothing (empty, outside, or not finite: int() of inf raises)."""
    x1, y1, x2, y2 = box
    if not np.all(np.isfinite((x1, y1, x2, y2))):
        return None
    a = (max(0, int((x1 - pad) * w)), max(0, int((y1 - pad) * h)))
    b = (min(w, int(np.ceil((x2 + pad) * w))), min(h, int(np.ceil((y2 + pad) * h))))
    if b[0] <= a[0] or b[1] <= a[1]:
        return None
    return a, b


def mask_regions(
    gray: np.ndarray,
    boxes: Sequence[tuple[float, float, float, float]],
    pad: float = MASK_PAD,
    strokes_only: bool = True,
) -> np.ndarray:
    """Paint the signatures in normalised boxes (x1, y1, x2, y2 in [0, 1]) with the paper colour
    so OCR skips them. People sign over their typed name, a date or a stamp: with
    ``strokes_only`` only the pen's strokes go (see STROKE_TALL), the print they cross stays
    readable; without it the whole box is painted."""
    return paint_signatures(gray, boxes, pad, strokes_only)[0]


def paint_signatures(
    gray: np.ndarray,
    boxes: Sequence[tuple[float, float, float, float]],
    pad: float = MASK_PAD,
    strokes_only: bool = True,
) -> tuple[np.ndarray, np.ndarray | None]:
    """``mask_regions``, and where it painted: 0 on the painted pixels, 255 elsewhere (None
    when there was nothing to paint)."""
    if not boxes:
        return gray, None
    out = gray.copy()
    painted = np.full(out.shape[:2], 255, np.uint8)
    h, w = out.shape[:2]
    ink = None
    glyph = 20.0
    paper = 255
    if strokes_only and out.size:
        paper = int(np.percentile(out, 90))  # strokes are painted the page's paper
        _, ink = cv2.threshold(to_gray(out), 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
        glyph = glyph_height(ink)
    for box in boxes:
        rect = _pixel_rect(box, w, h, pad)
        if rect is None:
            continue
        a, b = rect
        if ink is None:
            # The box's own paper, not the page's: on a camera frame the light varies across
            # the sheet, and a box brighter than the paper around it reads as a picture region.
            region = out[a[1] : b[1], a[0] : b[0]]
            region[...] = np.percentile(region, 90)  # _pixel_rect gives no empty box
            painted[a[1] : b[1], a[0] : b[0]] = 0
            continue
        roi = ink[a[1] : b[1], a[0] : b[0]]
        _, labels, stats, _ = cv2.connectedComponentsWithStats((roi > 0).astype(np.uint8), connectivity=8)
        big = (stats[:, cv2.CC_STAT_HEIGHT] > STROKE_TALL * glyph) | (
            stats[:, cv2.CC_STAT_WIDTH] > STROKE_WIDE * glyph
        )
        big[0] = False
        strokes = big[labels].astype(np.uint8)
        # the anti-aliased fringe of each stroke goes with it
        strokes = cv2.dilate(strokes, np.ones((3, 3), np.uint8))
        region = out[a[1] : b[1], a[0] : b[0]]
        region[strokes > 0] = paper
        painted[a[1] : b[1], a[0] : b[0]][strokes > 0] = 0
    return out, painted


def speckle(gray: np.ndarray) -> tuple[float, float]:
    """(isolated dark dots per megapixel, their share of all dark components).

    Dots are connected components of at most 4 pixels. A clean page has a few hundred per
    megapixel and they are under half of its components (dots on i and j, accents, commas, JPEG
    crumbs; a small receipt in a thin font can reach a thousand). A bilevel scan thresholded over
    grainy paper has tens of thousands and they are nearly all its components: they slow
    Tesseract to its timeout and break skew estimation."""
    if gray.size == 0:
        return 0.0, 0.0
    ink = (gray < 128).astype(np.uint8)
    _, _, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    areas = stats[1:, cv2.CC_STAT_AREA]
    dots = float(np.count_nonzero(areas <= 4))
    return dots / (gray.size / 1e6), dots / max(1, len(areas))


def speck_density(gray: np.ndarray) -> float:
    """Isolated dark dots per megapixel (see ``speckle``)."""
    return speckle(gray)[0]


def _lonely_ink(gray: np.ndarray) -> float:
    """Dark pixels with at most three dark neighbours, per megapixel: every pixel of a component
    of at most 4 pixels is one, so this bounds ``speckle``'s dot density from above at a tenth
    of its cost."""
    ink = (gray < 128).astype(np.uint8)
    around = cv2.boxFilter(ink, cv2.CV_16U, (3, 3), normalize=False, borderType=cv2.BORDER_CONSTANT)
    return np.count_nonzero((around <= 4) & (ink > 0)) / (gray.size / 1e6)


def is_speckled(gray: np.ndarray) -> bool:
    if gray.size == 0 or _lonely_ink(gray) <= SPECKLED:
        return False  # too few dots possible: the component count is not needed
    density, share = speckle(gray)
    return density > SPECKLED and share > SPECK_SHARE


def despeckle(gray: np.ndarray, fine: bool = False) -> tuple[np.ndarray, int]:
    """Remove salt-and-pepper specks from a speckled page: 3x3 median passes (at most three)
    while ``is_speckled`` holds. Repeated small medians keep thin strokes that a single wide
    median would erode. Returns the page and the number of passes (0: the page was left alone).

    ``fine`` runs each pass on the page doubled in size (pixels repeated) and brings it back
    with area averaging: a one-pixel speck, two by two there, still goes, but a one-pixel
    stroke, two wide there, stays. It keeps the thin print of a bilevel 150 dpi page that a
    plain pass erodes, and leaves more of the coarser grain; which of the two reads better
    depends on the page (see ``PageReader``). A page over FINE_DESPECKLE_MAX_PX pixels gets the
    plain passes whatever ``fine`` says: its strokes are not one pixel thin, and doubling it
    would take hundreds of megabytes."""
    passes = 0
    fine = fine and gray.size <= FINE_DESPECKLE_MAX_PX
    while passes < 3 and is_speckled(gray):
        if fine:
            h, w = gray.shape[:2]
            big = cv2.medianBlur(cv2.resize(gray, (w * 2, h * 2), interpolation=cv2.INTER_NEAREST), 3)
            gray = cv2.resize(big, (w, h), interpolation=cv2.INTER_AREA)
        else:
            gray = cv2.medianBlur(gray, 3)
        passes += 1
    return gray, passes


def limit_size(gray: np.ndarray) -> tuple[np.ndarray, float]:
    """Scale huge images down so no side exceeds MAX_SIDE; returns the image and the factor."""
    h, w = gray.shape[:2]
    if min(h, w) < MIN_SIDE:
        raise InputError(f"image of {w}x{h} pixels is too small to hold text")
    side = max(h, w)
    if side <= MAX_SIDE:
        return gray, 1.0
    f = MAX_SIDE / side
    return cv2.resize(gray, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA), f


def _order_quad(pts: np.ndarray) -> np.ndarray:
    s = pts.sum(axis=1)
    d = np.diff(pts, axis=1).ravel()
    return np.array([pts[np.argmin(s)], pts[np.argmin(d)], pts[np.argmax(s)], pts[np.argmax(d)]], np.float32)


PAGE_MIN_AREA = 0.06  # of the frame: a smaller bright region is not the page being shown
PAGE_MIN_BRIGHT = 0.75  # share of a candidate that is bright paper (shadows and thumbs take the rest)
BORDER_SIDE_WEIGHT = 0.8  # score factor for each side of a candidate that is the frame's border
STEP_OFFSET = 4.0  # px (at the 800 px working scale) either side of a candidate side
BORDER_BAND = 6  # px from the frame's border where a side is judged by the mask, not by edges
INK_FULL = 0.02  # print-edge density inside a candidate from which it counts as a printed page
STEP_MIN = 12  # grey levels between the two: a sheet's edge, not a rule printed on the page
HOUGH_VOTES = 0.12  # of the frame's shorter side: edge pixels a straight page side needs
HOUGH_MIN_LEN = 0.18  # ... and the shortest seen stretch of one (a sheet on another hides the rest)
SEGMENT_MIN_STEP = 0.5  # share of a straight segment's points with a step across it: a sheet's side
PRINT_MAX_STROKE = 0.1  # of the frame's shorter side: a longer edge is a rule or a border, not print
SIDE_MIN_SUPPORT = 0.1  # the weakest side: a page edge over another white sheet shows little step


def _fit_quad(contour: np.ndarray) -> np.ndarray:
    """Four corners fitted to a bright region's outline."""
    hull = cv2.convexHull(contour)
    peri = cv2.arcLength(hull, True)
    quad = None
    for eps in (0.02, 0.03, 0.045, 0.06):
        approx = cv2.approxPolyDP(hull, eps * peri, True)
        if len(approx) == 4:
            quad = approx.reshape(4, 2).astype(np.float32)
            break
        if len(approx) < 4:
            break
    if quad is None:
        # A page cut by the frame edge: the bounding rotated rectangle still removes the rotation.
        quad = cv2.boxPoints(cv2.minAreaRect(hull)).astype(np.float32)
    return quad


def _page_mask(blur: np.ndarray) -> np.ndarray:
    """Bright regions at Otsu's level, text holes closed, thin bridges opened."""
    _, bright = cv2.threshold(blur, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    closed = cv2.morphologyEx(bright, cv2.MORPH_CLOSE, np.ones((9, 9), np.uint8))
    return cv2.morphologyEx(closed, cv2.MORPH_OPEN, np.ones((15, 15), np.uint8))


def _intersect(l1: np.ndarray, l2: np.ndarray) -> np.ndarray | None:
    """Where two lines (each x1, y1, x2, y2) cross, or None when they are near parallel."""
    x1, y1, x2, y2 = l1
    x3, y3, x4, y4 = l2
    d = (x1 - x2) * (y3 - y4) - (y1 - y2) * (x3 - x4)
    if abs(d) < 1e-6:
        return None
    a, b = x1 * y2 - y1 * x2, x3 * y4 - y3 * x4
    return np.array([(a * (x3 - x4) - (x1 - x2) * b) / d, (a * (y3 - y4) - (y1 - y2) * b) / d], np.float32)


def _steps(blur: np.ndarray, line: np.ndarray, normal: np.ndarray) -> np.ndarray:
    """For points along a line, whether the brightness steps across it the same way near the
    line and further out: a sheet's edge. A rule or a line of text printed on the page has
    paper on both sides further out."""
    h, w = blur.shape[:2]

    def across(off: float) -> np.ndarray:
        a = (line + normal * off).round().astype(int)
        b = (line - normal * off).round().astype(int)
        xa, ya = np.clip(a[:, 0], 0, w - 1), np.clip(a[:, 1], 0, h - 1)
        xb, yb = np.clip(b[:, 0], 0, w - 1), np.clip(b[:, 1], 0, h - 1)
        return blur[ya, xa].astype(np.int16) - blur[yb, xb].astype(np.int16)

    near, far = across(STEP_OFFSET), across(STEP_OFFSET * 2.5)
    return (np.abs(near) >= STEP_MIN) & (np.abs(far) >= STEP_MIN) & (np.sign(near) == np.sign(far))


def _points(p: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Points every ~4 px along segment p-q (ends left out), and its unit normal."""
    n = max(8, int(np.linalg.norm(q - p) / 4))
    t = np.linspace(0.03, 0.97, n)[:, None]
    d = q - p
    normal = np.array([-d[1], d[0]], np.float32) / (float(np.linalg.norm(d)) + 1e-6)
    return p[None, :] * (1 - t) + q[None, :] * t, normal


def _side_support(
    edges: np.ndarray, blur: np.ndarray, mask: np.ndarray, p: np.ndarray, q: np.ndarray
) -> float:
    """Share of the points along side p-q that look like a sheet's edge: on an edge (edges
    pre-dilated) with a step in brightness across it (see ``_steps``). On or past the frame's
    border a point counts where the page mask is bright at the border: the page runs out of the
    frame there."""
    line, normal = _points(p, q)
    pts = line.round().astype(int)
    h, w = edges.shape
    m = BORDER_BAND
    inside = (pts[:, 0] >= m) & (pts[:, 0] < w - m) & (pts[:, 1] >= m) & (pts[:, 1] < h - m)
    hits = np.empty(len(pts), bool)
    hits[inside] = (edges[pts[inside, 1], pts[inside, 0]] > 0) & _steps(blur, line, normal)[inside]
    out = ~inside
    cx, cy = np.clip(pts[out, 0], 0, w - 1), np.clip(pts[out, 1], 0, h - 1)
    hits[out] = mask[cy, cx] > 0
    return float(hits.mean())


def _on_border(p: np.ndarray, q: np.ndarray, w: int, h: int) -> bool:
    """Whether segment p-q runs along (or past) one of the frame's borders."""
    m = 3.0
    return bool(
        (p[0] <= m and q[0] <= m)
        or (p[0] >= w - 1 - m and q[0] >= w - 1 - m)
        or (p[1] <= m and q[1] <= m)
        or (p[1] >= h - 1 - m and q[1] >= h - 1 - m)
    )


def _distinct(segs: list[np.ndarray], keep: int) -> list[np.ndarray]:
    """The longest ``keep`` segments, dropping any that lies along one already kept."""
    out: list[np.ndarray] = []
    for s in segs:
        d = s[2:] - s[:2]
        mid = (s[:2] + s[2:]) / 2
        dup = False
        for k in out:
            kd = k[2:] - k[:2]
            cos = abs(float(d @ kd)) / (np.linalg.norm(d) * np.linalg.norm(kd) + 1e-6)
            normal = np.array([-kd[1], kd[0]]) / (np.linalg.norm(kd) + 1e-6)
            if cos > 0.995 and abs(float((mid - k[:2]) @ normal)) < 6:
                dup = True
                break
        if not dup:
            out.append(s)
            if len(out) == keep:
                break
    return out


def _line_quads(blur: np.ndarray, edges: np.ndarray) -> list[np.ndarray]:
    """Quadrilaterals bounded by four of the frame's long straight edges (two across, two down)."""
    h, w = blur.shape
    side = min(h, w)
    lines = cv2.HoughLinesP(
        edges,
        1,
        np.pi / 180,
        threshold=int(side * HOUGH_VOTES),
        minLineLength=int(side * HOUGH_MIN_LEN),
        maxLineGap=int(side * 0.03),
    )
    if lines is None:
        return []
    segs = lines.reshape(-1, 4).astype(np.float32)
    # Only a segment with a brightness step across it can be a sheet's side. Lines of text and
    # table rules are long straight edges too; on a printed page they outnumber the sheet's own
    # sides, and a thumb splitting a side into two shorter pieces would lose it to them.
    edge_like = [float(_steps(blur, *_points(sg[:2], sg[2:])).mean()) >= SEGMENT_MIN_STEP for sg in segs]
    segs = segs[np.array(edge_like, bool)]
    lengths = np.hypot(segs[:, 2] - segs[:, 0], segs[:, 3] - segs[:, 1])
    angles = np.degrees(np.arctan2(segs[:, 3] - segs[:, 1], segs[:, 2] - segs[:, 0])) % 180
    order = np.argsort(-lengths)
    # The frame's own borders stand for the sides of a page that runs out of the frame.
    across = _distinct([segs[i] for i in order if angles[i] < 40 or angles[i] > 140], 8)
    down = _distinct([segs[i] for i in order if 50 < angles[i] < 130], 8)
    across += [np.array([0, 0, w - 1, 0], np.float32), np.array([0, h - 1, w - 1, h - 1], np.float32)]
    down += [np.array([0, 0, 0, h - 1], np.float32), np.array([w - 1, 0, w - 1, h - 1], np.float32)]
    mid = {id(s): ((s[0] + s[2]) / 2, (s[1] + s[3]) / 2) for s in across + down}
    quads = []
    for i, t in enumerate(across):
        for bt in across[i + 1 :]:
            top, bot = (t, bt) if mid[id(t)][1] < mid[id(bt)][1] else (bt, t)
            if mid[id(bot)][1] - mid[id(top)][1] < 0.25 * side:
                continue
            for j, a in enumerate(down):
                for b in down[j + 1 :]:
                    left, right = (a, b) if mid[id(a)][0] < mid[id(b)][0] else (b, a)
                    if mid[id(right)][0] - mid[id(left)][0] < 0.15 * side:
                        continue
                    pts = [
                        _intersect(top, left),
                        _intersect(top, right),
                        _intersect(bot, right),
                        _intersect(bot, left),
                    ]
                    if any(p is None for p in pts):
                        continue
                    quad = np.array(pts, np.float32)
                    if not cv2.isContourConvex(quad.reshape(-1, 1, 2)):
                        continue
                    if (
                        quad[:, 0].min() < -0.3 * w
                        or quad[:, 0].max() > 1.3 * w
                        or quad[:, 1].min() < -0.3 * h
                        or quad[:, 1].max() > 1.3 * h
                    ):
                        continue
                    quads.append(quad)
    return quads


def _print_density(edges: np.ndarray, core: np.ndarray, side: int) -> float:
    """Share of a candidate's inside covered by the edges of print: words, figures, signatures.
    Edges that run on as one long stroke (the rules of a lined or squared blank sheet, the
    border of a sheet under it) are left out, so a ruled blank sheet does not pass for a page
    with print on it."""
    n, _, stats, _ = cv2.connectedComponentsWithStats(edges, connectivity=8)
    if n <= 1:
        return 0.0
    extent = np.maximum(stats[1:, cv2.CC_STAT_WIDTH], stats[1:, cv2.CC_STAT_HEIGHT])
    short = stats[1:, cv2.CC_STAT_AREA][extent < PRINT_MAX_STROKE * side]
    return float(short.sum()) / max(1, int(np.count_nonzero(core)))


def find_page(gray: np.ndarray) -> np.ndarray | None:
    """The best outline ``find_pages`` finds, or None."""
    pages = find_pages(gray)
    return pages[0] if pages else None


def _side_angle(p: np.ndarray, q: np.ndarray) -> float:
    return math.degrees(math.atan2(float(q[1] - p[1]), float(q[0] - p[0])))


def _parallel_odds(quad: np.ndarray) -> float:
    """How plausible a quadrilateral is as a sheet seen from above: 1 while its opposite sides
    are within PARALLEL_SLACK degrees of parallel (a kiosk camera's perspective and a page
    partly out of the frame stay within it), falling off beyond. Sides taken from two sheets
    lying at different angles give a shape no sheet makes."""
    tl, tr, br, bl = quad

    def apart(a: float, b: float) -> float:
        d = abs(a - b) % 180
        return min(d, 180 - d)

    worst = max(
        apart(_side_angle(tl, tr), _side_angle(bl, br)), apart(_side_angle(tl, bl), _side_angle(tr, br))
    )
    return math.exp(-max(0.0, worst - PARALLEL_SLACK) / PARALLEL_FALLOFF)


def _same_outline(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two quadrilaterals cover nearly the same area (IoU over SAME_OUTLINE_IOU)."""
    inter, _ = cv2.intersectConvexConvex(a.astype(np.float32), b.astype(np.float32))
    union = abs(cv2.contourArea(a.astype(np.float32))) + abs(cv2.contourArea(b.astype(np.float32))) - inter
    return bool(union > 0 and inter / union > SAME_OUTLINE_IOU)


def find_pages(gray: np.ndarray, keep: int = 1) -> list[np.ndarray]:
    """Find the outline of a bright page in a camera frame: up to ``keep`` distinct outlines,
    best first, each four corners (tl, tr, br, bl); none when no candidate passes.

    Candidates are the outlines of the largest bright regions and the quadrilaterals bounded by
    the frame's long straight edges (the frame's borders standing in for sides that run out of
    view). A candidate must cover a fair part of the frame, have some sheet edge under each side
    and be mostly bright inside; the score favours large, well-supported candidates with print
    inside, and sides seen in the frame over its borders. A frame that is all page (or has no
    clear outline) gives none and is read as it is. The next outlines are other readings of the
    same frame (two sheets taken as one, a sheet beside the page), for a reader whose first
    page gave little text.
    """
    h, w = gray.shape[:2]
    f = 800.0 / max(h, w)
    small = (
        cv2.resize(gray, (max(1, int(w * f)), max(1, int(h * f))), interpolation=cv2.INTER_AREA)
        if f < 1
        else gray
    )
    f = min(f, 1.0)
    blur = cv2.GaussianBlur(small, (5, 5), 0)
    h_s, w_s = small.shape[:2]
    frame_area = h_s * w_s
    mask = _page_mask(blur)
    v = float(np.median(blur))
    edges = cv2.Canny(blur, max(5.0, 0.25 * v), max(15.0, 0.6 * v))
    wide = cv2.dilate(edges, np.ones((5, 5), np.uint8))
    cands: list[np.ndarray] = []
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    for c in sorted(contours, key=cv2.contourArea, reverse=True)[:2]:
        cands.append(_order_quad(_fit_quad(c)))
    cands.extend(_order_quad(q) for q in _line_quads(blur, edges))
    scored: list[tuple[float, np.ndarray]] = []
    for quad in cands:
        area = abs(cv2.contourArea(quad))
        if area < PAGE_MIN_AREA * frame_area or area > 0.985 * frame_area:
            continue
        sup = [_side_support(wide, blur, mask, quad[k], quad[(k + 1) % 4]) for k in range(4)]
        if min(sup) < SIDE_MIN_SUPPORT:
            continue
        inside = np.zeros_like(mask)
        cv2.fillConvexPoly(inside, quad.round().astype(np.int32), 255)
        n_in = max(1, int(np.count_nonzero(inside)))
        bright = int(np.count_nonzero(cv2.bitwise_and(mask, inside))) / n_in
        if bright < PAGE_MIN_BRIGHT:
            continue
        # The page being shown is the one with print on it, not a blank or lined sheet beside it.
        core = cv2.erode(inside, np.ones((9, 9), np.uint8))
        ink = _print_density(cv2.bitwise_and(edges, core), core, min(h_s, w_s))
        # A side on the frame's border is weaker evidence than a seen edge: without this, a page
        # and the other sheets beside it, all running to the border, outscore the page alone.
        border = sum(_on_border(quad[k], quad[(k + 1) % 4], w_s, h_s) for k in range(4))
        score = (
            area
            * (sum(sup) / 4) ** 2
            * bright**2
            * (0.5 + min(sup))  # the weakest side counts on its own too
            * BORDER_SIDE_WEIGHT**border
            * math.sqrt(min(1.0, max(ink, 1e-3) / INK_FULL))
            * _parallel_odds(quad)
        )
        scored.append((score, quad))
    scored.sort(key=lambda t: -t[0])
    kept: list[np.ndarray] = []
    for _, quad in scored:
        if len(kept) == keep:
            break
        if not any(_same_outline(quad, k) for k in kept):
            kept.append(quad)
    return [_order_quad(q / f) for q in kept]


def warp_page(gray: np.ndarray, quad: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flatten the page inside ``quad`` to an upright rectangle of its own proportions; also
    returns the 3x3 perspective transform from frame pixels to page pixels."""
    tl, tr, br, bl = quad
    width = int(max(np.linalg.norm(tr - tl), np.linalg.norm(br - bl)))
    height = int(max(np.linalg.norm(bl - tl), np.linalg.norm(br - tr)))
    width, height = max(width, MIN_SIDE), max(height, MIN_SIDE)
    dst = np.array([[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]], np.float32)
    m = cv2.getPerspectiveTransform(quad.astype(np.float32), dst)
    return cv2.warpPerspective(gray, m, (width, height), flags=cv2.INTER_CUBIC, borderValue=255), m


def mask_warped(
    page: np.ndarray,
    boxes: Sequence[tuple[float, float, float, float]],
    frame_shape: tuple[int, ...],
    m: np.ndarray,
    pad: float = MASK_PAD,
) -> np.ndarray:
    """Paint frame boxes (normalised to the frame) on the flattened ``page`` with the paper
    colour: each box goes through the same perspective transform ``m`` as the page."""
    if not boxes:
        return page
    out = page.copy()
    fh, fw = frame_shape[:2]
    ph, pw = out.shape[:2]
    for x1, y1, x2, y2 in boxes:
        a, b = (x1 - pad) * fw, (y1 - pad) * fh
        c, d = (x2 + pad) * fw, (y2 + pad) * fh
        corners = np.array([[[a, b], [c, b], [c, d], [a, d]]], np.float32)
        poly = np.round(cv2.perspectiveTransform(corners, m.astype(np.float32))[0]).astype(np.int32)
        # The box's own paper, as in paint_signatures: the light varies across a camera page.
        # Only the box's bounding rectangle on the page is looked at.
        lo = np.clip(poly.min(axis=0), 0, (pw, ph))
        hi = np.clip(poly.max(axis=0) + 1, 0, (pw, ph))
        if (hi <= lo).any():
            continue  # off the page
        inside = np.zeros((hi[1] - lo[1], hi[0] - lo[0]), np.uint8)
        cv2.fillPoly(inside, [poly - lo], 255)
        region = out[lo[1] : hi[1], lo[0] : hi[0]]
        if inside.any():
            region[inside > 0] = int(np.percentile(region[inside > 0], 90))
    return out


def _drop_border_bands(ink: np.ndarray) -> np.ndarray:
    """``ink`` (white on black) without the large dark regions that touch the image border: the
    scanner's lid shadow or the dark band past the sheet's edge. They are level with the scanner,
    not with the text, and a band the width of the page outweighs every text line in the
    projection profile, so a skewed page with one would be read as level."""
    mask = (ink > 96).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if n <= 1:
        return ink
    h, w = ink.shape[:2]
    x, y, bw, bh = (
        stats[1:, k] for k in (cv2.CC_STAT_LEFT, cv2.CC_STAT_TOP, cv2.CC_STAT_WIDTH, cv2.CC_STAT_HEIGHT)
    )
    touches = (x == 0) | (y == 0) | (x + bw >= w) | (y + bh >= h)
    large = (bw > 0.3 * w) | (bh > 0.3 * h)
    drop = np.flatnonzero(touches & large) + 1
    if drop.size == 0:
        return ink
    out = ink.copy()
    out[np.isin(labels, drop)] = 0
    return out


def estimate_skew(binary: np.ndarray, max_angle: float = 8.0) -> float:
    """Skew in degrees (positive = text rises to the right... corrected by rotating by -angle).

    Uses the projection profile: text lines give the sharpest row histogram when level. Done on
    a reduced image, so it costs a few milliseconds.
    """
    ink = 255 - binary
    h, w = ink.shape[:2]
    f = 600.0 / max(h, w)
    if f < 1:
        ink = cv2.resize(ink, (max(1, int(w * f)), max(1, int(h * f))), interpolation=cv2.INTER_AREA)
    ink = _drop_border_bands(ink)
    if int(ink.astype(np.int64).sum()) < 255 * 50:
        return 0.0
    hh, ww = ink.shape[:2]
    centre = (ww / 2, hh / 2)

    def score(angle: float) -> float:
        m = cv2.getRotationMatrix2D(centre, angle, 1.0)
        rot = cv2.warpAffine(ink, m, (ww, hh), flags=cv2.INTER_NEAREST, borderValue=0)
        rows = rot.sum(axis=1, dtype=np.float64)
        return float(np.sum(np.diff(rows) ** 2))

    best, best_s = 0.0, score(0.0)
    step = 1.0 if max_angle <= 10 else 1.5
    for a in np.arange(-max_angle, max_angle + 0.01, step):
        s = score(float(a))
        if s > best_s:
            best, best_s = float(a), s
    if abs(best) >= max_angle - 1e-6 and max_angle < WIDE_SKEW:
        # The best angle is the last one looked at: the page is turned further than expected
        # (a sheet fed crooked, a photo dropped in the scan folder): look on, the same way, up
        # to WIDE_SKEW.
        sign = 1.0 if best > 0 else -1.0
        for a in np.arange(max_angle + step, WIDE_SKEW + 0.01, step):
            s = score(float(sign * a))
            if s > best_s:
                best, best_s = float(sign * a), s
    for a in np.arange(best - step + 0.2, best + step - 0.19, 0.2):
        s = score(float(a))
        if s > best_s:
            best, best_s = float(a), s
    return round(best, 2)


def rotate(gray: np.ndarray, angle: float) -> np.ndarray:
    """Rotate by ``angle`` degrees (counter-clockwise, OpenCV convention), keeping the whole page."""
    if abs(angle) < 0.05:
        return gray
    m, nw, nh = _rotation(gray.shape[0], gray.shape[1], angle)
    return cv2.warpAffine(gray, m, (nw, nh), flags=cv2.INTER_LINEAR, borderValue=255)


def _rotation(h: int, w: int, angle: float) -> tuple[np.ndarray, int, int]:
    """The affine matrix ``rotate`` applies to an h x w image, and the size of the canvas that
    holds the whole turned page."""
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    cos, sin = abs(m[0, 0]), abs(m[0, 1])
    nw, nh = int(h * sin + w * cos), int(h * cos + w * sin)
    m[0, 2] += nw / 2 - w / 2
    m[1, 2] += nh / 2 - h / 2
    return m, nw, nh


def input_to_page(prep: Prepared, input_shape: tuple[int, ...], pts: np.ndarray) -> np.ndarray:
    """Pixel points (x, y) of the input image, normalised to where they lie on ``prep.gray``:
    through the flattening of a webcam page found by its outline (``warp``), the scaling, the
    quarter turns and the deskew ``prepare`` applied."""
    h, w = input_shape[:2]
    p = np.asarray(pts, dtype=np.float64).reshape(-1, 2)
    if prep.warp is not None:
        p = cv2.perspectiveTransform(p[None], prep.warp)[0]
        w, h = prep.warp_size
    p = p * prep.scale
    ph, pw = h * prep.scale, w * prep.scale
    for _ in range((prep.rotation // 90) % 4):  # a quarter turn clockwise: (x, y) -> (h - y, x)
        p = np.stack([ph - p[:, 1], p[:, 0]], axis=1)
        ph, pw = pw, ph
    if abs(prep.skew) >= 0.05:
        m, _, _ = _rotation(round(ph), round(pw), prep.skew)
        p = p @ m[:, :2].T + m[:, 2]
    gh, gw = prep.gray.shape[:2]
    return p / np.array([gw, gh], dtype=np.float64)


def input_box_to_page(
    prep: Prepared, input_shape: tuple[int, ...], box: Sequence[float]
) -> tuple[float, float, float, float]:
    """An input-pixel box (x1, y1, x2, y2) brought onto ``prep.gray`` (normalised, unclipped):
    the axis-aligned box around its four corners mapped by ``input_to_page``."""
    x1, y1, x2, y2 = box
    p = input_to_page(prep, input_shape, np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]], np.float64))
    return float(p[:, 0].min()), float(p[:, 1].min()), float(p[:, 0].max()), float(p[:, 1].max())


def turn(gray: np.ndarray, clockwise: int) -> np.ndarray:
    """Turn by a multiple of 90 degrees clockwise."""
    k = (clockwise // 90) % 4
    if k == 1:
        return cv2.rotate(gray, cv2.ROTATE_90_CLOCKWISE)
    if k == 2:
        return cv2.rotate(gray, cv2.ROTATE_180)
    if k == 3:
        return cv2.rotate(gray, cv2.ROTATE_90_COUNTERCLOCKWISE)
    return gray


def normalise_resolution(gray: np.ndarray, profile: Profile) -> tuple[np.ndarray, float]:
    """Bring the page to about TARGET_WIDTH pixels wide (webcam frames at least MIN_WORK_WIDTH)."""
    h, w = gray.shape[:2]
    if profile == "webcam":
        f = max(1.0, MIN_WORK_WIDTH / w) if w < MIN_WORK_WIDTH else min(1.0, TARGET_WIDTH * 1.2 / w)
    else:
        # Scans up to ~300 dpi are left alone; beyond, they are brought down to ~200 dpi.
        # Narrow pages (receipts) are left as they are: upscaling them only blurs the glyphs.
        f = TARGET_WIDTH / w if w > TARGET_WIDTH * 1.5 or w < TARGET_WIDTH * 0.3 else 1.0
    f = min(f, 4.0)
    if abs(f - 1.0) < 1e-3:
        return gray, 1.0
    interp = cv2.INTER_AREA if f < 1 else cv2.INTER_CUBIC
    return cv2.resize(gray, (max(1, round(w * f)), max(1, round(h * f))), interpolation=interp), f


def binarise(gray: np.ndarray, profile: Profile) -> np.ndarray:
    """Adaptive threshold: text black (0) on white (255), robust to the uneven light of a webcam."""
    if profile == "webcam":
        # Camera noise and JPEG blocks become speckles under a local threshold: smooth first.
        gray = cv2.medianBlur(gray, 3)
        block = max(15, (gray.shape[1] // 40) | 1)
        return cv2.adaptiveThreshold(gray, 255, cv2.ADAPTIVE_THRESH_GAUSSIAN_C, cv2.THRESH_BINARY, block, 12)
    # Scans are evenly lit: a global Otsu threshold keeps thin strokes intact; a wide adaptive
    # threshold only where the background varies (shadowed or yellowed paper).
    bg = cv2.medianBlur(cv2.resize(gray, (max(1, gray.shape[1] // 16), max(1, gray.shape[0] // 16))), 5)
    if int(bg.max()) - int(bg.min()) > 40:
        block = max(31, (gray.shape[1] // 30) | 1)
        return cv2.adaptiveThreshold(gray, 255, cv2.ADAPTIVE_THRESH_GAUSSIAN_C, cv2.THRESH_BINARY, block, 15)
    _, out = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return out


def _paper(gray: np.ndarray) -> np.ndarray:
    """The paper's grey under every pixel: a closing wider than any glyph on a quarter-size
    copy (text removed, shading and yellowing kept), smoothed and brought back to full size."""
    h, w = gray.shape[:2]
    small = cv2.resize(gray, (max(1, w // 4), max(1, h // 4)), interpolation=cv2.INTER_AREA)
    return cv2.resize(_closed_background(small, 15), (w, h), interpolation=cv2.INTER_LINEAR)


def _closed_background(gray: np.ndarray, min_kernel: int) -> np.ndarray:
    """The paper under the print: a closing wider than any stroke (a 25th of the shorter side,
    at least ``min_kernel``) removes the text, then a blur smooths what is left."""
    k = max(min_kernel, (min(gray.shape[:2]) // 25) | 1)
    bg = cv2.morphologyEx(gray, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
    return cv2.GaussianBlur(bg, (0, 0), k / 4)


def _level_groups(mask: np.ndarray, parts: np.ndarray, glyph: float) -> np.ndarray:
    """Of the faint components in ``mask`` (labels ``parts``), those that join into words set
    level on the page: at least two components, two glyphs long, twice as long as high and
    within FAINT_MAX_ANGLE of horizontal. A faded stamp is set at an angle, and a lone faint
    blob (a stamp's thicker stroke, a smudge) is not a word."""
    joined = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_RECT, (max(3, int(0.7 * glyph)), 1)))
    n, groups, stats, _ = cv2.connectedComponentsWithStats(joined, connectivity=8)
    on = parts > 0
    labels, where = parts[on], groups[on]
    group_of = np.zeros(int(labels.max()) + 1, np.int64)
    group_of[labels] = where  # each piece lies inside one group: any of its pixels names it
    present = np.nonzero(np.bincount(labels))[0]
    members = np.bincount(group_of[present], minlength=n)
    level = np.zeros(n, bool)
    for j in np.nonzero(members >= 2)[0]:
        x, y, w, h = stats[j, :4]
        if w < 2 * glyph:
            continue
        pts = cv2.findNonZero((groups[y : y + h, x : x + w] == j).astype(np.uint8))
        _, (rw, rh), angle = cv2.minAreaRect(pts)
        if rw < rh:
            rw, rh, angle = rh, rw, angle - 90
        angle = (angle + 45) % 90 - 45
        level[j] = rw >= 2 * rh and rw >= 2 * glyph and abs(angle) <= FAINT_MAX_ANGLE
    return (mask > 0) & level[groups]


def _paper_noise(depth: np.ndarray) -> float:
    """Robust sigma (1.4826 x median absolute deviation) of the paper's grey around its local
    level, from integer depths; histogram medians, as np.median's sort costs tens of ms a page."""
    depth = depth[np.abs(depth) < 60].astype(np.int64) + 60
    if not depth.size:
        return 0.0

    def median(counts: np.ndarray) -> int:
        return int(np.searchsorted(np.cumsum(counts), (counts.sum() + 1) // 2))

    mid = median(np.bincount(depth, minlength=120))
    return 1.4826 * median(np.bincount(np.abs(depth - mid), minlength=120))


def _outside_boxes(shape: tuple[int, ...], boxes: Sequence[tuple[float, float, float, float]]) -> np.ndarray:
    """255 everywhere but in the normalised ``boxes`` (padded as mask_regions pads them)."""
    h, w = shape[:2]
    out = np.full((h, w), 255, np.uint8)
    for box in boxes:
        rect = _pixel_rect(box, w, h, MASK_PAD)
        if rect is not None:
            (ax, ay), (bx, by) = rect
            out[ay:by, ax:bx] = 0
    return out


def lift_faint(
    gray: np.ndarray, allowed: np.ndarray | None = None, ink: Ink | None = None
) -> tuple[np.ndarray, int]:
    """Darken faint print, light grey small print and bright coloured headings (orange, cyan,
    yellow-green come out 150-180 grey), which Tesseract's global Otsu threshold, set between
    black text and paper, takes for paper. Returns the page and how many pixels were darkened.

    Faint ink is what lies FAINT_DEPTH (and FAINT_NOISE times the paper's noise) under the
    local paper grey, away from dark ink (the soft edges of black glyphs are not faint print),
    in glyph-sized pieces that join into level words (see ``_level_groups``). Those pixels and
    their soft edges are stretched away from the paper so the deepest reaches FAINT_INK; the
    rest of the page is left exactly as it was. A global tone curve recovers the same words
    but darkens noise and every glyph's edge with them (on 40 validation scans, CER 10.2% ->
    11.2%). ``allowed`` (0 = leave alone) keeps it out of painted-out signatures, whose
    strokes leave a faint fringe. ``ink`` is ``Ink.of(gray)`` where the caller has it."""
    if min(gray.shape[:2]) < 64:
        return gray, 0
    paper = _paper(gray)
    ink = ink if ink is not None else Ink.of(gray)
    dark = ink.dark
    depth = paper.astype(np.int16) - gray.astype(np.int16)  # how much darker than the paper around it
    noise = _paper_noise(depth[::4, ::4][dark[::4, ::4] == 0])
    near_dark = cv2.dilate(dark, np.ones((5, 5), np.uint8)) > 0
    candidates = (depth > max(FAINT_DEPTH, FAINT_NOISE * noise)) & ~near_dark
    if allowed is not None:
        candidates &= allowed > 0
    faint = candidates.astype(np.uint8)
    if not faint.any():
        return gray, 0
    # Pieces and words are found at half resolution, a half-size pixel being faint where any of
    # its four is (a glyph is still 5+ px high there): a quarter of the component labelling,
    # the costliest step. The pixels lifted are the full-size faint ones.
    rows, cols = gray.shape[:2]
    pooled = cv2.resize(faint * 255, (cols // 2, rows // 2), interpolation=cv2.INTER_AREA)
    half = (pooled > 0).astype(np.uint8)
    glyph = ink.glyph / 2
    _, parts, stats, _ = cv2.connectedComponentsWithStats(half, connectivity=8)
    h, w, area = stats[:, cv2.CC_STAT_HEIGHT], stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_AREA]
    solid_band = (w > 4 * h) & (area > 0.6 * h * w)  # a tinted table row or banner, not print
    piece = (h >= 0.3 * glyph) & (h <= 2.5 * glyph) & (area >= max(3, 0.03 * glyph * glyph)) & ~solid_band
    piece[0] = False
    if not piece[1:].any():
        return gray, 0
    parts = np.where(piece[parts], parts, 0)
    level = _level_groups((parts > 0).astype(np.uint8), parts, glyph)
    if not level.any():
        return gray, 0
    level_full = cv2.resize(level.astype(np.uint8), (cols, rows), interpolation=cv2.INTER_NEAREST) > 0
    seeds = (level_full & candidates).astype(np.uint8)
    # Each faint glyph is lifted whole with a two-pixel margin, dark specks inside it included:
    # cut back to the pixels away from dark ink, a glyph that Otsu's threshold partly caught
    # came out in bold pieces with light gaps ('signani ce formulaire cie mandai').
    words = cv2.dilate(seeds, np.ones((5, 5), np.uint8)) > 0
    # JPEG and sensor noise inside faint glyphs would be stretched with them: a light blur of
    # the depth first, so a lifted word is solid, not blotchy.
    ys, xs = np.nonzero(words)
    y0, y1, x0, x1 = max(0, ys.min() - 2), ys.max() + 3, max(0, xs.min() - 2), xs.max() + 3
    near = cv2.GaussianBlur(np.maximum(depth[y0:y1, x0:x1], 0).astype(np.float32), (3, 3), 0)
    d = near[words[y0:y1, x0:x1]]
    p = paper[words].astype(np.float32)
    gain = float(np.clip((float(p.mean()) - FAINT_INK) / max(float(np.percentile(d, 95)), 1.0), 1.0, 4.0))
    out = gray.copy()
    out[words] = np.clip(p - d * gain, 0, 255).astype(np.uint8)
    return out, int(words.sum())


def _with_rule_crumbs(ink: np.ndarray, rules: np.ndarray, t: int) -> np.ndarray:
    """What to paint out for ``rules``: a band half a rule's thickness either side of them, but
    for the glyphs in it and their fringe (where a glyph crosses a rule, it keeps its pixels),
    with the ink that lies wholly inside the band counted as rule, not glyph. A skewed rule on
    a bilevel scan is a staircase; once the page is levelled, the steps' corners stick out
    above and below the straight line the opening finds, and left alone they read as a row of
    dashes ('- _ -') that breaks the text next to them. A glyph near a rule reaches further out
    than that, so it stays whole.

    Only the rows around the rules are looked at (a few strips of a page, not all of it): the
    ink there is cut at a margin outside the band, so a glyph that reaches past the band still
    shows as reaching past it."""
    d = max(2, t // 2)
    band = cv2.dilate(rules, cv2.getStructuringElement(cv2.MORPH_RECT, (3, 2 * d + 1)))
    out = np.zeros_like(rules)
    rows = np.flatnonzero(band.any(axis=1))
    if not rows.size:
        return out
    breaks = np.flatnonzero(np.diff(rows) > 1)
    for a, b in zip(np.r_[rows[0], rows[breaks + 1]], np.r_[rows[breaks], rows[-1]], strict=True):
        y0, y1 = max(0, a - 2), min(ink.shape[0], b + 3)  # two rows of margin: what leaves the band
        own = np.zeros((y1 - y0, band.shape[1]), bool)  # this strip's band, not a neighbour's
        own[a - y0 : b + 1 - y0] = band[a : b + 1] > 0
        rest = cv2.subtract(ink[y0:y1], rules[y0:y1])
        n, labels = cv2.connectedComponents((rest > 0).astype(np.uint8), connectivity=8)
        inside = np.bincount(labels[own], minlength=n)
        total = np.bincount(labels.ravel(), minlength=n)
        crumbs = inside == total
        crumbs[0] = False
        kept = ((labels > 0) & ~crumbs[labels]).astype(np.uint8)
        # The band is painted whole but for the glyphs in it and their fringe: a levelled
        # rule's grey anti-aliased edge lies under the binary threshold and would stay as grey
        # dashes.
        near_glyph = cv2.dilate(kept, np.ones((3, 3), np.uint8))
        out[y0:y1][own & (near_glyph == 0)] = 255
    return out


def _flat_rows(bits: np.ndarray, glyph: float, length: int, half: bool = False) -> np.ndarray:
    """Where the flat marks in ``bits`` join into a row ``length`` pixels long: each mark two
    pixels taller first (a dotted line on a levelled fax is a staircase, whose dashes a step
    apart share no row), gaps of up to RULE_GAP glyph heights bridged. ``half`` works at half
    size (a quarter of the cost) and gives the rows there."""
    if half:
        h, w = bits.shape[:2]
        bits = (cv2.resize(bits, (w // 2, h // 2), interpolation=cv2.INTER_AREA) > 0).astype(np.uint8) * 255
        glyph, length = glyph / 2, length // 2
    gap = int(max(2, RULE_GAP * glyph))
    joined = cv2.dilate(bits, np.ones((3 if half else 5, 1), np.uint8))
    joined = cv2.morphologyEx(joined, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (gap, 1)))
    return cv2.morphologyEx(joined, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (length, 1)))


def _dotted_rules(ink: np.ndarray, glyph: float, length: int) -> np.ndarray | None:
    """Dotted and dashed rules (table row separators, dotted lines to sign or write on): rows of
    flat marks, whole components of ink at most DOTTED_THICKNESS of a glyph high (not asterisks,
    half a glyph high), shorter than ``length`` pixels and with paper above and below, that join
    into a row that long. Left in, Tesseract took each table row for a picture and read one
    cell of nine rows. Only whole flat components count: a serif or the foot of a glyph is part
    of a tall one, so a line of text is not a rule. The marks on each row found are returned,
    not the band between them, which a glyph may cross.

    Rows where short vertical runs away from tall ones alone would join into a line (a
    superset: flat strokes of glyphs too) are found on the whole page first, at half size;
    components are labelled only in strips around them, a glyph high either side (a component
    the strip's edge cuts is never taken for a mark: it may be the top of a glyph)."""
    hmax = int(max(2, DOTTED_THICKNESS * glyph))
    tall = cv2.morphologyEx(ink, cv2.MORPH_OPEN, np.ones((hmax + 1, 1), np.uint8))
    # Short runs right above or below a tall one are a glyph's foot or serif, not a mark.
    short = cv2.subtract(cv2.subtract(ink, tall), cv2.dilate(tall, np.ones((3, 3), np.uint8)))
    rows = np.flatnonzero(_flat_rows(short, glyph, length, half=True).any(axis=1)) * 2
    if not rows.size:
        return None
    out = np.zeros_like(ink)
    margin = int(glyph) + 3
    breaks = np.flatnonzero(np.diff(rows) > 2 * margin)
    for a, b in zip(np.r_[rows[0], rows[breaks + 1]], np.r_[rows[breaks], rows[-1]], strict=True):
        y0, y1 = max(0, a - margin), min(ink.shape[0], b + margin + 1)
        n, labels, stats, _ = cv2.connectedComponentsWithStats(ink[y0:y1], connectivity=8)
        top, height = stats[:, cv2.CC_STAT_TOP], stats[:, cv2.CC_STAT_HEIGHT]
        flat = (height <= hmax) & (stats[:, cv2.CC_STAT_WIDTH] < length)
        # A component the strip's edge cuts may be a glyph's top or foot: never a mark.
        flat &= ((top > 0) | (y0 == 0)) & ((top + height < y1 - y0) | (y1 == ink.shape[0]))
        flat[0] = False
        if flat.sum() < 3:
            continue
        # A mark of a rule has paper above and below it; a piece of a glyph that Otsu's
        # threshold broke (the top of a grey '08/19/2022') has the rest of the glyph there.
        is_flat = flat[labels]
        other = ((labels > 0) & ~is_flat).astype(np.uint8)
        near = cv2.dilate(other, np.ones((2 * hmax + 1, 1), np.uint8)) > 0
        crowded = np.bincount(labels[is_flat & near], minlength=n) > 0.3 * stats[:, cv2.CC_STAT_AREA]
        flat &= ~crowded
        if flat.sum() < 3:
            continue
        bits = (flat[labels] * 255).astype(np.uint8)
        found = _flat_rows(bits, glyph, length)
        on_line = np.zeros(n, bool)
        on_line[np.unique(labels[(found > 0) & (bits > 0)])] = True
        on_line[0] = False
        out[y0:y1][on_line[labels]] = 255
    return out if out.any() else None


def remove_rules(gray: np.ndarray, min_len: float = RULE_LEN, dark: Ink | None = None) -> np.ndarray | None:
    """The page with its ruled lines (table rules, form boxes, signature lines, underlines)
    painted the paper colour, or None when it has none.

    Tesseract takes a rule touching a field's label or a table cell for glyphs ('|', '_', 'LL',
    '5 5 5') and its layout analysis splits or merges cells around them. A rule is a horizontal
    run of thin ink longer than ``min_len`` of the page width and RULE_GLYPHS typical glyph
    heights, found by opening the binary page with a long flat line; glyph strokes are far
    shorter, so text is left alone. Dotted and dashed rules as long go too (``_dotted_rules``).
    Vertical rules stay: they keep table columns apart for Tesseract. The grey page itself is
    kept for barcodes, whose bars would go too. ``dark`` is ``Ink.of(gray)`` where the caller
    has it."""
    w = gray.shape[1]
    dark = dark if dark is not None else Ink.of(gray)
    ink, glyph = dark.dark, dark.glyph
    k = int(max(w * min_len, RULE_GLYPHS * glyph, 25))
    if w < k:
        return None
    # A rule is thin as well as long: only ink whose vertical run is at most ``t`` pixels can be
    # part of one. The long rows inside a filled logo or a shaded band are not lines, and where a
    # glyph crosses a rule (a descender through an underline) the glyph is kept.
    t = int(max(3, RULE_THICKNESS * glyph))
    thick = cv2.morphologyEx(ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, t + 1)))
    thin = cv2.subtract(ink, thick)
    rules = cv2.morphologyEx(thin, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (k, 1)))
    dotted = _dotted_rules(ink, glyph, k)
    if dotted is not None:
        rules = cv2.bitwise_or(rules, dotted)
    if not rules.any():
        return None
    # Grow by a pixel for the anti-aliased fringe of the line.
    rules = cv2.dilate(rules, np.ones((3, 3), np.uint8))
    rules = _with_rule_crumbs(ink, rules, t)
    # Painted with the paper just above and below the rule (the brightest pixel within a few
    # rule widths), so a tinted table row does not get a white seam.
    paper = cv2.dilate(gray, cv2.getStructuringElement(cv2.MORPH_RECT, (1, 2 * t + 7)))
    out = gray.copy()
    out[rules > 0] = paper[rules > 0]
    return out


def flatten_light(gray: np.ndarray) -> np.ndarray:
    """Divide out the uneven light of a camera page: the background is estimated by a closing
    wider than any stroke (text removed, paper kept), then smoothed."""
    bg = _closed_background(gray, 31)
    out = gray.astype(np.float32) * 255.0 / np.maximum(bg.astype(np.float32), 1.0)
    return np.clip(out, 0, 255).astype(np.uint8)


def _analysis_binary(gray: np.ndarray, profile: Profile) -> np.ndarray:
    """Webcam: the full-resolution binary Tesseract will read. Scans: Tesseract reads the grey
    page, and the binary only serves blank-page, skew and orientation checks, for which half
    resolution is as good and four times cheaper."""
    if profile == "webcam" or min(gray.shape[:2]) < 400:
        return binarise(gray, profile)
    half = cv2.resize(gray, (gray.shape[1] // 2, gray.shape[0] // 2), interpolation=cv2.INTER_AREA)
    return binarise(half, profile)


def ink_fraction(binary: np.ndarray) -> float:
    """Share of dark pixels: ~0 for a blank page, high for a photo."""
    return float(np.count_nonzero(binary < 128)) / max(1, binary.size)


def _follow_turn(mask: np.ndarray | None, rotation: int, shape: tuple[int, ...]) -> np.ndarray | None:
    """A mask of the input brought onto the page after its quarter turns and resolution change."""
    if mask is None:
        return None
    return cv2.resize(turn(mask, rotation), (shape[1], shape[0]), interpolation=cv2.INTER_NEAREST)


def prepare(
    image: np.ndarray,
    profile: Profile,
    mask_boxes: Sequence[tuple[float, float, float, float]] = (),
    rotation: int = 0,
    outline: bool = True,
    quad: np.ndarray | None = None,
    fine_despeckle: bool = False,
) -> Prepared:
    """Run the preprocessing chain. ``rotation`` (clockwise degrees) is applied when already known;
    ``outline=False`` reads a webcam frame as it is, without looking for the page's outline;
    ``quad`` (input pixels, tl tr br bl) is the page outline to flatten instead of finding one;
    ``fine_despeckle`` cleans a speckled scan the finer way (see ``despeckle``)."""
    gray = to_gray(image)
    gray, f0 = limit_size(gray)
    notes: list[str] = []
    page_found = False
    # The page outline is found on the frame as it is: painted-over signature boxes would cut
    # into the edges it looks for. The boxes are painted afterwards, on the flattened page.
    others: list[np.ndarray] = []
    painted: np.ndarray | None = None
    warp: np.ndarray | None = None
    warp_size = (0, 0)
    if quad is not None:
        quad = np.asarray(quad, dtype=np.float64) * f0  # given in input pixels
    elif profile == "webcam" and outline:
        found = find_pages(gray, keep=1 + OTHER_OUTLINES)
        quad, others = (found[0], [q / f0 for q in found[1:]]) if found else (None, [])
    if quad is None:
        # Only scans get their leftover scribble dropped after OCR (reader.py), so a webcam
        # frame read as is keeps whole boxes painted.
        gray, painted = paint_signatures(gray, mask_boxes, strokes_only=MASK_STROKES and profile == "scan")
    if profile == "webcam":
        if quad is not None:
            frame_shape = gray.shape
            gray, m = warp_page(gray, quad)
            gray = mask_warped(gray, mask_boxes, frame_shape, m)
            page_found = True
            warp = m @ np.diag([f0, f0, 1.0])  # from input pixels
            warp_size = (gray.shape[1], gray.shape[0])
            # After warping, coordinates no longer scale uniformly from the input.
            f0 = 1.0
        elif outline:
            notes.append("no page outline found; frame read as is")
        else:
            notes.append("the page outline found gave no readable text; frame read as is")
    source_px = max(gray.shape[:2])
    # Where signatures were painted out, the strokes' faint fringe stays: it must not be taken
    # for faint print and darkened back (see lift_faint). 0 marks those boxes; it follows the
    # page through every turn, scale and rotation below.
    lift_ok = _outside_boxes(gray.shape[:2], mask_boxes) if profile == "scan" and mask_boxes else None
    passes = 0
    if profile == "scan":
        fine_despeckle = fine_despeckle and gray.size <= FINE_DESPECKLE_MAX_PX
        gray, passes = despeckle(gray, fine=fine_despeckle)
        if passes:
            how = " at double size" if fine_despeckle else ""
            notes.append(
                f"speckled scan: {passes} median pass{'es' if passes > 1 else ''}{how} before reading"
            )
    gray = turn(gray, rotation)
    gray, f1 = normalise_resolution(gray, profile)
    # The masks of the input (255/0) follow the page: turned and scaled here, deskewed below.
    lift_ok = _follow_turn(lift_ok, rotation, gray.shape)
    painted = _follow_turn(painted, rotation, gray.shape) if profile == "scan" else None
    binary = _analysis_binary(gray, profile)
    # A hand-held page can be turned well past a scanner's few degrees, and so can one
    # flattened from an outline found: the outline may be another sheet's edge or run over two
    # sheets (80 validation stills, searched to 25 degrees where before only pages without an
    # outline or cut by the frame were: order-free CER 22.06% -> 21.74%, 3 pages changed).
    skew = estimate_skew(binary, max_angle=WIDE_SKEW if profile == "webcam" else 8.0)
    if abs(skew) < MIN_DESKEW:
        skew = 0.0  # Tesseract copes with a slight tilt; resampling the page costs more than it fixes
    if skew:
        gray = rotate(gray, skew)
        # Turned with the page rather than found again: it only says how much ink there is.
        binary = cv2.threshold(rotate(binary, skew), 127, 255, cv2.THRESH_BINARY)[1]
        if lift_ok is not None:
            lift_ok = rotate(lift_ok, skew)
        if painted is not None:
            painted = rotate(painted, skew)
    ink: Ink | None = None
    if profile == "scan":
        # Level on the page by now, so a faint word can be told from a stamp set at an angle.
        ink = Ink.of(gray)
        gray, lifted = lift_faint(gray, lift_ok, ink)
        if lifted:
            log.debug("faint print darkened: %d px", lifted)
            ink = None  # the page changed: its ink is found again
    return Prepared(
        gray=gray,
        binary=binary,
        flat=flatten_light(gray) if profile == "webcam" else None,
        ruled=remove_rules(gray, dark=ink) if profile == "scan" else None,
        scale=f0 * f1,
        rotation=rotation,
        skew=skew,
        page_found=page_found,
        notes=notes,
        profile=profile,
        source_px=source_px,
        other_outlines=others,
        painted=painted,
        despeckled=passes,
        fine_despeckle=fine_despeckle,
        warp=warp,
        warp_size=warp_size,
    )
