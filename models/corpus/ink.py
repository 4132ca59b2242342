"""Handwritten ink: signatures (handwriting fonts and procedural pen strokes) and the marks the
detector must learn *not* to call signatures (initials, annotations and dates, scribbles and
crossings-out, stamps).

Every function returns a coverage mask (uint8, 255 = full ink), cropped tight to the ink. The
page composer multiplies it onto the paper in an ink colour, and the ground-truth box is taken
from the mask pixels themselves, so boxes are tight by construction.
"""

from __future__ import annotations

import math
import random

import cv2
import numpy as np
from PIL import Image, ImageDraw

from models.corpus import fonts

INKS = {
    "blue": [(150, 40, 20), (120, 50, 30), (170, 70, 30), (110, 30, 10)],  # BGR
    "black": [(30, 30, 30), (45, 40, 40), (20, 20, 25)],
}
STAMP_INKS = [(40, 40, 190), (150, 50, 40), (130, 40, 110), (60, 110, 40)]  # red, blue, violet, green

ALPHA_MIN = 64  # mask level counted as ink for boxes (faint anti-aliased fringe is not ink)


def ink_colour(r: random.Random) -> tuple[int, int, int]:
    return r.choice(INKS["blue"] if r.random() < 0.55 else INKS["black"])


def crop(mask: np.ndarray, pad: int = 2) -> np.ndarray:
    """Crop a mask to its ink with a small padding (so dilation never clips)."""
    ys, xs = np.nonzero(mask >= ALPHA_MIN)
    if len(xs) == 0:
        return mask[:1, :1] * 0
    y1, y2 = max(0, ys.min() - pad), min(mask.shape[0], ys.max() + 1 + pad)
    x1, x2 = max(0, xs.min() - pad), min(mask.shape[1], xs.max() + 1 + pad)
    return mask[y1:y2, x1:x2]


def _text_mask(text: str, font_path: str, size: int, stroke: int = 0) -> np.ndarray:
    f = fonts.font(font_path, size)
    text = fonts.fit_text(font_path, text)
    left, top, right, bottom = f.getbbox(text, stroke_width=stroke)
    w, h = right - left + 8, bottom - top + 8
    img = Image.new("L", (max(1, w), max(1, h)), 0)
    ImageDraw.Draw(img).text(
        (4 - left, 4 - top), text, font=f, fill=255, stroke_width=stroke, stroke_fill=255
    )
    return np.asarray(img)


def _shear(mask: np.ndarray, slant: float, angle_deg: float, sx: float) -> np.ndarray:
    """Slant (shear), horizontal stretch and a tilted baseline, growing the canvas to fit."""
    h, w = mask.shape
    a = math.radians(angle_deg)
    m = np.array([[sx, -slant], [0, 1.0]]) @ np.eye(2)
    rot = np.array([[math.cos(a), math.sin(a)], [-math.sin(a), math.cos(a)]])
    m = rot @ m
    corners = np.array([[0, 0], [w, 0], [0, h], [w, h]], dtype=float) @ m.T
    mn, mx = corners.min(0), corners.max(0)
    out_w, out_h = int(mx[0] - mn[0]) + 4, int(mx[1] - mn[1]) + 4
    aff = np.hstack([m, (-mn + 2)[:, None]])
    return cv2.warpAffine(mask, aff, (out_w, out_h), flags=cv2.INTER_LINEAR, borderValue=0)


def _pen(points: np.ndarray, canvas: np.ndarray, width: float, r: random.Random) -> None:
    """Draw a pen trajectory with pressure (width) varying along it, anti-aliased."""
    n = len(points)
    if n < 2:
        return
    chunk = max(2, n // r.randint(3, 8))
    for i in range(0, n - 1, chunk - 1):
        seg = points[i : i + chunk]
        w = max(1, round(width * r.uniform(0.7, 1.25)))
        cv2.polylines(canvas, [np.round(seg * 4).astype(np.int32)], False, 255, w, cv2.LINE_AA, shift=2)


# Letter-like pen paths in units of the x-height, origin on the baseline, y down. Chained and
# smoothed with a Catmull-Rom spline they give cursive loops, arches and descenders.
GLYPHS = {
    "e": [(0.0, 0.0), (0.55, -0.55), (0.35, -1.0), (0.08, -0.6), (0.3, 0.0), (0.6, -0.1)],
    "l": [(0.0, 0.0), (0.6, -1.4), (0.45, -2.4), (0.15, -1.8), (0.25, 0.0), (0.55, -0.1)],
    "n": [(0.0, 0.0), (0.05, -0.9), (0.35, -1.0), (0.42, 0.0), (0.5, -0.85), (0.8, -0.95), (0.85, 0.0)],
    "u": [(0.0, -0.9), (0.05, -0.1), (0.3, 0.0), (0.45, -0.9), (0.5, -0.05), (0.7, -0.1)],
    "o": [(0.5, -0.95), (0.15, -0.8), (0.12, -0.1), (0.45, 0.0), (0.55, -0.85), (0.4, -1.0), (0.8, -0.7)],
    "g": [
        (0.0, 0.0),
        (0.45, -0.95),
        (0.1, -0.7),
        (0.3, 0.0),
        (0.5, -0.9),
        (0.45, 1.3),
        (0.1, 1.2),
        (0.6, 0.1),
    ],
    "t": [(0.0, 0.0), (0.3, -1.9), (0.3, -0.1), (0.55, 0.0), (-0.1, -1.1), (0.6, -1.2)],
    "i": [(0.0, 0.0), (0.2, -0.9), (0.25, 0.0), (0.45, -0.2)],
    "z": [(0.0, -0.9), (0.5, -1.0), (0.05, 0.0), (0.55, 0.05), (0.3, 0.9), (0.0, 0.6), (0.6, 0.0)],
}
CAPITALS = [
    [(0.0, 0.0), (0.3, -2.8), (0.6, -2.9), (0.5, -1.6), (-0.3, -1.4), (0.5, -0.8), (0.9, -0.3)],
    [(0.2, -2.6), (0.1, 0.1), (0.05, -1.0), (0.9, -2.7), (0.9, -1.5), (0.2, -1.2), (1.0, -0.2)],
    [(1.0, -2.3), (0.5, -2.8), (0.0, -1.6), (0.3, 0.0), (1.0, -0.6)],
    [(-0.3, -1.0), (0.5, -2.9), (0.6, 0.3), (0.0, 0.5), (-0.2, 0.0), (1.0, -0.5)],
]


def _catmull_rom(p: np.ndarray, per_seg: int = 10) -> np.ndarray:
    """A smooth curve through the points (uniform Catmull-Rom)."""
    if len(p) < 3:
        return p
    q = np.vstack([p[0], p, p[-1]])
    t = np.linspace(0, 1, per_seg, endpoint=False)[:, None]
    t2, t3 = t * t, t * t * t
    out = []
    for i in range(1, len(q) - 2):
        p0, p1, p2, p3 = q[i - 1], q[i], q[i + 1], q[i + 2]
        out.append(
            0.5
            * (
                (2 * p1)
                + (-p0 + p2) * t
                + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t2
                + (-p0 + 3 * p1 - 3 * p2 + p3) * t3
            )
        )
    out.append(p[-1:])
    return np.vstack(out)


def _cursive(r: random.Random, height: float, n_letters: int, capital: bool) -> tuple[np.ndarray, float]:
    """One pen-down stroke of joined letter shapes, getting flatter towards the end the way
    real signatures trail off. Returns the points and the width used."""
    xh = height / 2.6  # x-height; capitals and ascenders reach ~2.6 x-heights
    pts: list[tuple[float, float]] = []
    x = 0.0
    if capital:
        for gx, gy in r.choice(CAPITALS):
            pts.append((x + gx * xh * r.uniform(0.9, 1.3), gy * xh * r.uniform(0.85, 1.1)))
        x += xh * r.uniform(0.8, 1.2)
    decay = r.uniform(0.0, 0.6)
    keys = list(GLYPHS)
    for k in range(n_letters):
        g = GLYPHS[r.choice(keys)]
        sx = xh * r.uniform(0.6, 1.2)
        amp = 1 - decay * k / max(1, n_letters)
        for gx, gy in g:
            pts.append((x + gx * sx + r.uniform(-0.08, 0.08) * xh, gy * xh * amp + r.uniform(-0.1, 0.1) * xh))
        x += sx * r.uniform(0.55, 0.9)
    arr = np.array(pts, np.float64)
    return _catmull_rom(arr, 8), x


def _flourish(r: random.Random, w: float, h: float) -> np.ndarray:
    """An underline swoosh or a closing loop, as signatures often end."""
    t = np.linspace(0, 1, 80)
    if r.random() < 0.6:  # swoosh under the name, right to left or left to right
        x0, x1 = (
            (w * r.uniform(0.6, 1.0), w * r.uniform(-0.1, 0.2))
            if r.random() < 0.5
            else (0, w * r.uniform(0.8, 1.1))
        )
        sag = h * r.uniform(0.1, 0.5)
        x = x0 + (x1 - x0) * t
        y = h * r.uniform(0.75, 1.0) + sag * np.sin(math.pi * t) * r.choice([-1, 1]) * 0.5 + h * 0.15 * t
    else:  # a loop around the end
        cx, cy, rad = w * r.uniform(0.7, 1.0), h * r.uniform(-0.1, 0.3), h * r.uniform(0.3, 0.7)
        a = np.linspace(r.uniform(0, 3), r.uniform(4, 7.5), 80)
        x, y = cx + rad * 1.6 * np.cos(a), cy + rad * np.sin(a)
    return np.stack([x, y], 1)


def _stroke_canvas(strokes: list[np.ndarray], width: float, r: random.Random) -> np.ndarray:
    allp = np.concatenate(strokes)
    mn = allp.min(0) - width * 2 - 2
    size = (allp.max(0) - mn + width * 2 + 2).astype(int)
    canvas = np.zeros((size[1], size[0]), np.uint8)
    for s in strokes:
        _pen(s - mn, canvas, width, r)
    return canvas


def signature(r: random.Random, name: str, height_px: float, pen_px: float) -> np.ndarray:
    """A signature mask about ``height_px`` tall: the name in a handwriting face, slanted and
    jittered, or an illegible procedural scrawl; either may end in a flourish."""
    height_px = max(6.0, height_px)  # tiny test renders still get a drawable signature
    if r.random() < 0.55:
        style = r.random()
        parts = name.split()
        if style < 0.35 and len(parts) > 1:
            text = f"{parts[0][0]}. {parts[-1]}"
        elif style < 0.6:
            text = parts[-1]
        else:
            text = name
        font = r.choice(fonts.available("signature"))
        size = round(height_px * r.uniform(0.75, 1.05))
        stroke = 1 if pen_px > 4 and r.random() < 0.5 else 0
        m = _text_mask(text, font, size, stroke)
        m = _shear(m, r.uniform(-0.1, 0.45), r.uniform(-7, 5), r.uniform(0.85, 1.25))
        if r.random() < 0.45:
            h, w = m.shape
            fl = _stroke_canvas([_flourish(r, w, h)], max(1.0, pen_px * 0.8), r)
            # the flourish canvas is cropped to its own ink: put it low, under the name
            m = _overlay(m, fl, r.uniform(-0.1, 0.1) * w, h * r.uniform(0.55, 0.85) - fl.shape[0] * 0.3)
        return crop(_wobble(m, r, height_px))
    # procedural scrawl: one to three pen-down strokes, then maybe a flourish and a dot
    strokes, x = [], 0.0
    for k in range(r.choice([1, 1, 2, 2, 3])):
        s, w = _cursive(
            r, height_px * r.uniform(0.75, 1.0), r.randint(2, 8), capital=k == 0 or r.random() < 0.5
        )
        s[:, 0] += x
        strokes.append(s)
        x += w + height_px * r.uniform(0.15, 0.5)
    if r.random() < 0.5:
        strokes.append(_flourish(r, x, height_px * 0.4))
    if r.random() < 0.2:
        dx, dy = x * r.uniform(0.2, 0.8), -height_px * r.uniform(0.4, 0.6)
        strokes.append(np.array([[dx, dy], [dx + 1.5, dy + 1.0]]))
    m = _stroke_canvas(strokes, pen_px, r)
    m = _shear(m, r.uniform(-0.05, 0.45), r.uniform(-6, 6), r.uniform(0.8, 1.3))
    return crop(m)


def _wobble(mask: np.ndarray, r: random.Random, height_px: float) -> np.ndarray:
    """Bend a typeset signature with a smooth random displacement: hands are not fonts."""
    h, w = mask.shape
    amp = height_px * r.uniform(0.02, 0.06)
    g = np.random.default_rng(r.getrandbits(32))
    dx = cv2.resize(
        g.normal(0, amp, (3, max(2, w // 40))).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC
    )
    dy = cv2.resize(
        g.normal(0, amp, (3, max(2, w // 40))).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC
    )
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    pad = int(amp * 3) + 2
    out = cv2.remap(mask, xx + dx, yy + dy, cv2.INTER_LINEAR, borderValue=0)
    return cv2.copyMakeBorder(out, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0) if pad else out


def _overlay(a: np.ndarray, b: np.ndarray, dx: float, dy: float) -> np.ndarray:
    """Max-combine mask b onto mask a at offset (dx, dy), growing the canvas."""
    dx, dy = int(dx), int(dy)
    x0, y0 = min(0, dx), min(0, dy)
    w = max(a.shape[1], dx + b.shape[1]) - x0
    h = max(a.shape[0], dy + b.shape[0]) - y0
    out = np.zeros((h, w), np.uint8)
    out[-y0 : -y0 + a.shape[0], -x0 : -x0 + a.shape[1]] = a
    sub = out[dy - y0 : dy - y0 + b.shape[0], dx - x0 : dx - x0 + b.shape[1]]
    np.maximum(sub, b, out=sub)
    return out


def handwriting(r: random.Random, text: str, height_px: float) -> np.ndarray:
    """Handwritten text (annotations, dates, initials, filled-in form values)."""
    font = r.choice(fonts.available("handwriting"))
    m = _text_mask(text, font, round(height_px * r.uniform(0.9, 1.2)))
    return crop(_shear(m, r.uniform(-0.05, 0.3), r.uniform(-4, 4), r.uniform(0.9, 1.1)))


def scribble(r: random.Random, w: float, h: float, pen_px: float) -> np.ndarray:
    """A crossing-out: zig-zag hatching, one or two strike lines, or a tangled doodle."""
    kind = r.random()
    if kind < 0.4:
        n = r.randint(4, 12)
        xs = np.linspace(0, w, n * 2)
        ys = np.tile([0, h], n) + np.array([r.uniform(-h * 0.2, h * 0.2) for _ in range(n * 2)])
        pts = np.stack([xs, ys], 1)
        fine = np.stack(
            [np.interp(np.linspace(0, n * 2 - 1, n * 12), np.arange(n * 2), pts[:, i]) for i in (0, 1)], 1
        )
        strokes = [fine]
    elif kind < 0.75:
        strokes = []
        for k in range(r.choice([1, 2])):
            y = h * (0.5 + 0.2 * k) + r.uniform(-h * 0.1, h * 0.1)
            t = np.linspace(0, 1, 40)
            strokes.append(
                np.stack([w * t, y + r.uniform(-h * 0.2, h * 0.2) * t + np.sin(t * 9) * h * 0.03], 1)
            )
    else:
        t = np.linspace(0, r.uniform(4, 9) * math.pi, 200)
        rad = (h * 0.5) * (0.4 + 0.6 * np.abs(np.sin(t * r.uniform(0.1, 0.4))))
        strokes = [
            np.stack([w / 2 + rad * np.cos(t) * w / h * 0.5 + t * w * 0.02, h / 2 + rad * np.sin(t)], 1)
        ]
    return crop(_stroke_canvas(strokes, pen_px, r))


def stamp(r: random.Random, lines: list[str], dpi: int) -> np.ndarray:
    """A rubber stamp (rectangular or round) with worn, uneven ink, tilted."""
    px = dpi / 25.4
    big = fonts.font(fonts.bold_of(r.choice(fonts.available("sans"))), round(px * r.uniform(3.5, 5.5)))
    small = fonts.font(r.choice(fonts.available("sans")), round(px * r.uniform(2.2, 3.2)))
    fs = [big if i == 0 else small for i in range(len(lines))]
    tw = max(f.getlength(s) for f, s in zip(fs, lines, strict=True))
    th = sum(f.size * 1.25 for f in fs)
    round_ = r.random() < 0.35
    pad = px * 3
    W, H = int(tw + pad * 2), int(th + pad * 2)
    if round_:
        W = H = int(max(tw, th) + pad * 2.5)
    img = Image.new("L", (W + 8, H + 8), 0)
    d = ImageDraw.Draw(img)
    lw = max(2, round(px * 0.6))
    if round_:
        d.ellipse((4, 4, W + 4, H + 4), outline=255, width=lw)
        if r.random() < 0.6:
            d.ellipse(
                (4 + lw * 3, 4 + lw * 3, W + 4 - lw * 3, H + 4 - lw * 3), outline=255, width=max(1, lw // 2)
            )
    else:
        d.rectangle((4, 4, W + 4, H + 4), outline=255, width=lw)
        if r.random() < 0.5:
            d.rectangle(
                (4 + lw * 2, 4 + lw * 2, W + 4 - lw * 2, H + 4 - lw * 2), outline=255, width=max(1, lw // 2)
            )
    y = (H + 8 - th) / 2
    for f, s in zip(fs, lines, strict=True):
        d.text(((W + 8) / 2, y), s, font=f, fill=255, anchor="ma")
        y += f.size * 1.25
    m = np.asarray(img).astype(np.float32)
    # worn rubber: uneven pressure, speckled gaps
    grain = cv2.resize(
        np.random.default_rng(r.getrandbits(32)).random((max(2, H // 6), max(2, W // 6)), np.float32),
        (W + 8, H + 8),
    )
    m *= np.clip(grain * 1.6 + r.uniform(-0.1, 0.3), 0.15, 1.0)
    m = _shear(m.astype(np.uint8), 0.0, r.uniform(-25, 25), 1.0)
    return crop(m)
