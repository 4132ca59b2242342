"""What happens to a page between the printer and the model: a scanner or a webcam.

Both functions take the clean page, the convex hulls of every labelled ink item (in page pixels)
and return the degraded image with the hulls carried through *every geometric step* (skew,
scaling, perspective, cropping), so boxes stay exact. Photometric steps (noise, blur, light,
JPEG) never move pixels and leave the hulls alone.

Noise comes from a fixed tile made once per process and cropped at a random offset: drawing fresh
Gaussian noise for a 300 dpi page would cost more than rendering the page.
"""

from __future__ import annotations

import functools
import math
import random
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

Hull = np.ndarray  # (N, 2) float32 points


@dataclass
class Degraded:
    encoded: bytes
    ext: str  # "jpg" or "png"
    shape: tuple[int, int]  # height, width
    hulls: list[Hull | None]  # None: the item left the frame
    visible: list[float]  # fraction of each item's hull still inside the image
    info: dict[str, Any] = field(default_factory=dict)


def decode(encoded: bytes) -> np.ndarray:
    """The BGR image a page file decodes to (grey and bilevel files come back as 3 channels)."""
    img = cv2.imdecode(np.frombuffer(encoded, np.uint8), cv2.IMREAD_COLOR)
    if img is None:
        raise ValueError("undecodable page image")
    return img


TILE = 509  # prime, so repeats do not line up with text lines
LEVELS = (3, 6, 10, 16, 28)


@functools.lru_cache(maxsize=1)
def _noise_tiles() -> dict[int, tuple[np.ndarray, np.ndarray]]:
    g = np.random.default_rng(12345).normal(0, 1, (TILE, TILE)).astype(np.float32)
    return {
        s: (np.clip(g * s, 0, 255).astype(np.uint8), np.clip(-g * s, 0, 255).astype(np.uint8)) for s in LEVELS
    }


@functools.lru_cache(maxsize=8)
def _big_tiles(level: int, h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    pos, neg = _noise_tiles()[level]
    ny, nx = math.ceil(h / TILE) + 1, math.ceil(w / TILE) + 1
    return cv2.repeat(pos, ny, nx), cv2.repeat(neg, ny, nx)


def add_noise(img: np.ndarray, r: random.Random, strength: float) -> np.ndarray:
    """Add zero-mean luminance noise of about ``strength`` grey levels (saturating uint8)."""
    level = min(LEVELS, key=lambda s: abs(s - strength))
    h, w = img.shape[:2]
    # page sizes repeat (a few dpis), so the repeated tiles are cached per size bucket
    bh, bw = (h // TILE + 1) * TILE, (w // TILE + 1) * TILE
    pos, neg = _big_tiles(level, bh, bw)
    oy, ox = r.randrange(TILE), r.randrange(TILE)
    p, n = pos[oy : oy + h, ox : ox + w], neg[oy : oy + h, ox : ox + w]
    if img.ndim == 3:
        p, n = cv2.cvtColor(p, cv2.COLOR_GRAY2BGR), cv2.cvtColor(n, cv2.COLOR_GRAY2BGR)
    return cv2.subtract(cv2.add(img, p), n)


def _encode(img: np.ndarray, ext: str, quality: int) -> bytes:
    if ext == "png":
        ok, buf = cv2.imencode(".png", img, [cv2.IMWRITE_PNG_COMPRESSION, 1])
    else:
        ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError(f"could not encode a {img.shape} page as {ext}")
    return buf.tobytes()


def transform(hulls: list[Hull | None], m: np.ndarray) -> list[Hull | None]:
    """Apply a 2x3 affine or 3x3 projective matrix (in OpenCV's pixel-index convention, as
    warpAffine/warpPerspective use it) to hulls given in continuous coordinates, where pixel
    (i, j) covers [i, i+1) x [j, j+1)."""
    out: list[Hull | None] = []
    for h in hulls:
        if h is None:
            out.append(None)
            continue
        pts = (h.reshape(-1, 1, 2) - 0.5).astype(np.float32)
        t = cv2.transform(pts, m) if m.shape == (2, 3) else cv2.perspectiveTransform(pts, m)
        out.append(t.reshape(-1, 2) + 0.5)
    return out


def clip(hulls: list[Hull | None], w: int, h: int) -> tuple[list[Hull | None], list[float]]:
    """Clip hulls to the image rectangle; returns the clipped hulls and the visible fraction."""
    frame = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    out: list[Hull | None] = []
    vis: list[float] = []
    for hull in hulls:
        if hull is None:
            out.append(None)
            vis.append(0.0)
            continue
        full = cv2.convexHull(hull.astype(np.float32))
        area = cv2.contourArea(full)
        inside = (
            (full[:, 0, 0] >= 0).all()
            and (full[:, 0, 1] >= 0).all()
            and (full[:, 0, 0] <= w).all()
            and (full[:, 0, 1] <= h).all()
        )
        if inside:
            out.append(full.reshape(-1, 2))
            vis.append(1.0)
            continue
        a, inter = cv2.intersectConvexConvex(full, frame)
        if inter is None or a <= 0:
            out.append(None)
            vis.append(0.0)
        else:
            out.append(inter.reshape(-1, 2))
            vis.append(float(a / area) if area > 0 else 0.0)
    return out, vis


def clean(page: np.ndarray, hulls: list[Hull | None]) -> Degraded:
    """The page exactly as drawn (PNG), for tests and for looking at labels."""
    h, w = page.shape[:2]
    clipped, vis = clip(hulls, w, h)
    return Degraded(_encode(page, "png", 0), "png", (h, w), clipped, vis, {"kind": "clean"})


def scan(page: np.ndarray, hulls: list[Hull | None], r: random.Random, dpi: int) -> Degraded:
    """A flatbed or sheet-fed scan: skew, colour/grey/bilevel, fax look, noise, JPEG."""
    h, w = page.shape[:2]
    info: dict[str, Any] = {"kind": "scan"}
    mode = r.choices(["colour", "grey", "bilevel"], [0.45, 0.35, 0.2])[0]
    info["mode"] = mode
    # grey and bilevel scans lose colour first: every later step then touches one channel
    img = page if mode == "colour" else cv2.cvtColor(page, cv2.COLOR_BGR2GRAY)
    angle = r.uniform(-3, 3) if r.random() < 0.8 else 0.0
    if angle:
        m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
        bg = r.choice([255, 250, 235, 60, 30]) if r.random() < 0.3 else int(np.median(page[:8, :8]))
        border = (bg, bg, bg) if img.ndim == 3 else bg
        img = cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=border)
        hulls = transform(hulls, m)
    info["skew_deg"] = round(angle, 3)
    if r.random() < 0.2:  # the scanner lid's shadow or a photocopier's dark band at an edge
        img = img.copy() if img is page else img
        dark = r.randint(0, 40)
        boxes = [
            (hl[:, 0].min(), hl[:, 1].min(), hl[:, 0].max(), hl[:, 1].max()) for hl in hulls if hl is not None
        ]
        for _ in range(r.choice([1, 1, 2])):
            edge, t = r.randrange(4), max(2, int(min(h, w) * r.uniform(0.003, 0.015)))
            band = [(0, 0, w, t), (0, h - t, w, h), (0, 0, t, h), (w - t, 0, w, h)][edge]
            if any(band[0] < b[2] and b[0] < band[2] and band[1] < b[3] and b[1] < band[3] for b in boxes):
                continue  # never hide labelled ink
            img[band[1] : band[3], band[0] : band[2]] = dark
            info["edge_band"] = True
    if mode != "colour" and r.random() < 0.3:  # dust and toner specks (img is already a grey copy)
        for _ in range(r.randint(10, 150)):
            cv2.circle(img, (r.randrange(w), r.randrange(h)), r.choice([0, 1, 1, 2]), r.randint(0, 60), -1)
        info["specks"] = True
    if mode in ("colour", "grey"):
        if r.random() < 0.5:
            img = cv2.convertScaleAbs(img, alpha=r.uniform(0.85, 1.15), beta=r.uniform(-20, 15))
        if r.random() < 0.6:
            img = add_noise(img, r, r.uniform(2, 12))
        if r.random() < 0.3:
            img = cv2.GaussianBlur(img, (3, 3), r.uniform(0.4, 0.9))
        q = r.randint(45, 95) if mode == "colour" else r.randint(35, 95)
        enc = _encode(img, "jpg", q)
        info["jpeg_quality"] = q
        ext = "jpg"
    else:
        g = img
        fax = r.random() < 0.4
        if fax:  # standard-resolution fax: half the vertical resolution, then back
            g = cv2.resize(g, (w, h // 2), interpolation=cv2.INTER_AREA)
            g = cv2.resize(g, (w, h), interpolation=cv2.INTER_NEAREST)
        if r.random() < 0.5:
            g = add_noise(g, r, r.uniform(10, 30))
        if r.random() < 0.5:
            b = cv2.threshold(g, r.randint(130, 200), 255, cv2.THRESH_BINARY)[1]
        else:
            blk = (max(15, dpi // 6) // 2) * 2 + 1
            b = cv2.adaptiveThreshold(
                g, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, blk, r.randint(8, 20)
            )
        info["fax"] = fax
        enc = _encode(b, "png", 0)
        ext = "png"
    clipped, vis = clip(hulls, w, h)
    return Degraded(enc, ext, (h, w), clipped, vis, info)


# The still a kiosk or counter camera takes once the page is held steady: a 1080p webcam at the
# low end, 4K webcams and 8 MP document cameras above it. A page in a 640x480 preview frame has
# text 3-4 px high, which no OCR reads; the kiosk reads stills (see edge/read/reader.py).
FRAMES = [(1920, 1080), (2560, 1440), (3264, 2448), (3264, 2448), (3840, 2160), (3840, 2160)]


def webcam_dpi(frame: tuple[int, int]) -> int:
    """Render resolution for a page about to be photographed in ``frame``: a little above what
    an A4 page filling the frame's height gets, so the shrink into the frame antialiases."""
    return int(min(300, max(96, round(frame[1] / 11.7 * 1.15))))


def desk(r: random.Random, w: int, h: int) -> np.ndarray:
    """A cluttered desk: wood, laminate or cloth, with a phone, mug, pens, notes and papers."""
    rng = np.random.default_rng(r.getrandbits(32))
    base = np.array(
        r.choice(
            [
                (40, 70, 110),
                (60, 95, 140),
                (90, 130, 170),
                (70, 70, 70),
                (150, 150, 150),
                (40, 40, 45),
                (120, 100, 90),
            ]
        ),
        np.float32,
    )
    yy = np.linspace(0, 1, h, dtype=np.float32)[:, None]
    xx = np.linspace(0, 1, w, dtype=np.float32)[None, :]
    if r.random() < 0.5:  # wood grain
        f = r.uniform(20, 60)
        grain = np.sin((yy * f + np.sin(xx * r.uniform(2, 6)) * 0.8) * 2 * math.pi) * 0.08
    else:
        grain = (xx - 0.5) * r.uniform(-0.2, 0.2) + (yy - 0.5) * r.uniform(-0.2, 0.2)
    img = np.clip(base[None, None, :] * (1 + grain[..., None]), 0, 255).astype(np.uint8)
    img = np.ascontiguousarray(img)
    for _ in range(r.randint(2, 7)):
        kind = r.random()
        cx, cy = r.uniform(0, w), r.uniform(0, h)
        if kind < 0.3:  # another sheet of paper
            s = r.uniform(0.3, 0.8) * h
            pts = cv2.boxPoints(((cx, cy), (s * 0.7, s), r.uniform(0, 180))).astype(np.int32)
            cv2.fillPoly(img, [pts], (r.randint(215, 245),) * 3)
            for k in range(12):
                a = pts[0] + (pts[1] - pts[0]) * 0.1 + (pts[3] - pts[0]) * (0.1 + k * 0.065)
                b = a + (pts[1] - pts[0]) * 0.7
                cv2.line(img, tuple(a.astype(int)), tuple(b.astype(int)), (150, 150, 150), 1, cv2.LINE_AA)
        elif kind < 0.45:  # mug from above
            rad = int(r.uniform(0.06, 0.12) * h)
            col = tuple(int(c) for c in rng.integers(0, 255, 3))
            cv2.circle(img, (int(cx), int(cy)), rad, col, -1, cv2.LINE_AA)
            cv2.circle(img, (int(cx), int(cy)), int(rad * 0.8), (30, 45, 60), -1, cv2.LINE_AA)
        elif kind < 0.65:  # pen
            ang = r.uniform(0, math.pi)
            ln = r.uniform(0.15, 0.3) * h
            a = (int(cx), int(cy))
            b = (int(cx + math.cos(ang) * ln), int(cy + math.sin(ang) * ln))
            cv2.line(img, a, b, tuple(int(c) for c in rng.integers(0, 200, 3)), max(2, h // 90), cv2.LINE_AA)
        elif kind < 0.8:  # phone / keyboard
            pts = cv2.boxPoints(
                ((cx, cy), (r.uniform(0.1, 0.5) * h, r.uniform(0.15, 0.3) * h), r.uniform(0, 180))
            ).astype(np.int32)
            cv2.fillPoly(img, [pts], (r.randint(10, 60),) * 3)
        else:  # sticky note
            s = r.uniform(0.08, 0.14) * h
            pts = cv2.boxPoints(((cx, cy), (s, s), r.uniform(0, 90))).astype(np.int32)
            cv2.fillPoly(img, [pts], r.choice([(120, 240, 250), (200, 230, 140), (190, 170, 250)]))
    return cv2.GaussianBlur(img, (0, 0), 1.2)


@dataclass
class Geometry:
    """Where the page lands in the webcam frame."""

    frame: tuple[int, int]  # width, height
    small: tuple[int, int]  # page size after the anti-alias shrink (width, height)
    scale: np.ndarray  # 2x3, page -> small (pixel-index convention)
    homography: np.ndarray  # 3x3, small -> frame
    quad: np.ndarray  # the page's corners in the frame


SKIN = [(150, 180, 225), (120, 150, 200), (90, 120, 170), (60, 85, 130), (170, 195, 235)]  # BGR


def _thumbs(img: np.ndarray, quad: np.ndarray, hulls: list[Hull | None], r: random.Random, fh: int) -> int:
    """Thumbs holding the page at its edges (a document held up to a kiosk camera). A thumb
    that would cover labelled ink is left out, so no label ever sits under a finger."""
    boxes = [(h[:, 0].min(), h[:, 1].min(), h[:, 0].max(), h[:, 1].max()) for h in hulls if h is not None]
    placed = 0
    for _ in range(r.choice([1, 2, 2])):
        e = r.randrange(4)
        a, b = quad[e].astype(np.float64), quad[(e + 1) % 4].astype(np.float64)
        p = a + (b - a) * r.uniform(0.25, 0.75)
        centre = quad.mean(0)
        inward = (centre - p) / (np.linalg.norm(centre - p) + 1e-6)
        ax_long, ax_short = fh * r.uniform(0.05, 0.08), fh * r.uniform(0.025, 0.035)
        c = p + inward * ax_long * r.uniform(0.1, 0.5)
        ang = math.degrees(math.atan2(inward[1], inward[0]))
        x1, y1, x2, y2 = c[0] - ax_long, c[1] - ax_long, c[0] + ax_long, c[1] + ax_long
        if any(x1 < bx2 and bx1 < x2 and y1 < by2 and by1 < y2 for bx1, by1, bx2, by2 in boxes):
            continue
        mask = np.zeros(img.shape[:2], np.uint8)
        cv2.ellipse(
            mask, (int(c[0]), int(c[1])), (int(ax_long), int(ax_short)), ang, 0, 360, 255, -1, cv2.LINE_AA
        )
        soft = cv2.GaussianBlur(mask, (5, 5), 0).astype(np.float32)[..., None] / 255.0
        skin = np.array(r.choice(SKIN), np.float32) * r.uniform(0.85, 1.1)
        img *= 1 - soft
        img += soft * skin[None, None, :]
        placed += 1
    return placed


def webcam_geometry(
    r: random.Random, pw: int, ph: int, frame: tuple[int, int] | None = None, whole: bool = False
) -> Geometry:
    """Frame size and page placement: distance, offset, rotation, tilt, sometimes partly out.

    ``frame`` fixes the frame size; ``whole`` keeps the whole page in view (a held document)."""
    fw, fh = frame or r.choice(FRAMES)
    close = r.random() < 0.25 and not whole
    target_h = fh * (
        r.uniform(1.05, 1.5) if close else r.uniform(0.72, 0.88) if whole else r.uniform(0.6, 0.98)
    )
    s = target_h / ph
    tw = pw * s
    cx = fw / 2 + r.uniform(-0.15, 0.15) * fw * (0.3 if whole else 1)
    cy = fh / 2 + r.uniform(-0.1, 0.1) * fh * (0.3 if whole else 1)
    if r.random() < 0.15 and not whole:  # partly out of the frame on one side
        cx += r.choice([-1, 1]) * tw * r.uniform(0.1, 0.3)
    ang = math.radians(r.uniform(-12, 12) * (0.5 if whole else 1))
    ca, sa = math.cos(ang), math.sin(ang)
    quad = []
    for dx, dy in ((-0.5, -0.5), (0.5, -0.5), (0.5, 0.5), (-0.5, 0.5)):
        x, y = dx * tw, dy * target_h
        jx, jy = r.uniform(-0.06, 0.06) * tw, r.uniform(-0.05, 0.05) * target_h
        if dy < 0:  # the far edge of a tilted page looks narrower
            x *= 1 - r.uniform(0, 0.12)
        quad.append((cx + (x + jx) * ca - (y + jy) * sa, cy + (x + jx) * sa + (y + jy) * ca))
    dst = np.array(quad, np.float32)
    pre = min(1.0, s * 1.4)  # shrink first so the warp does not alias
    sw, sh = max(1, round(pw * pre)), max(1, round(ph * pre))
    # resize maps page index x to ((x + .5) * sw / pw - .5)
    kx, ky = sw / pw, sh / ph
    scale_m = np.array([[kx, 0, 0.5 * kx - 0.5], [0, ky, 0.5 * ky - 0.5]], np.float32)
    src = np.array([[-0.5, -0.5], [sw - 0.5, -0.5], [sw - 0.5, sh - 0.5], [-0.5, sh - 0.5]], np.float32)
    return Geometry((fw, fh), (sw, sh), scale_m, cv2.getPerspectiveTransform(src, dst), dst)


def to_frame(img: np.ndarray, g: Geometry) -> np.ndarray:
    """Shrink and warp a page-sized image into the frame (empty outside the page)."""
    small = (
        cv2.resize(img, g.small, interpolation=cv2.INTER_AREA)
        if g.small != (img.shape[1], img.shape[0])
        else img
    )
    return cv2.warpPerspective(
        small, g.homography, g.frame, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT
    )


def carry(hulls: list[Hull | None], g: Geometry) -> list[Hull | None]:
    """Page-pixel hulls to frame pixels, through the same shrink and warp as the image."""
    return transform(transform(hulls, g.scale), g.homography)


def webcam(
    page: np.ndarray, hulls: list[Hull | None], r: random.Random, frame: tuple[int, int] | None = None
) -> Degraded:
    """The page held or lying in front of a webcam: perspective, partial crop, desk, uneven light,
    shadow, residual motion blur or defocus, sensor noise, JPEG. Blur is sized to the frame: the
    still is taken once the page is steady, so a hand's last shake is a few pixels at most."""
    ph, pw = page.shape[:2]
    g = webcam_geometry(r, pw, ph, frame)
    fw, fh = g.frame
    dst = g.quad
    info: dict[str, Any] = {"kind": "webcam", "frame": [fw, fh]}
    warped = to_frame(page, g)
    mask = to_frame(np.full((ph, pw), 255, np.uint8), g)
    hulls = carry(hulls, g)
    bg = desk(r, fw, fh)
    m = (mask.astype(np.float32) / 255.0)[..., None]
    img = warped.astype(np.float32) * m + bg.astype(np.float32) * (1 - m)
    if r.random() < 0.35:
        info["thumbs"] = _thumbs(img, dst, hulls, r, fh)
    # light: smooth random field plus vignette, then maybe a soft shadow
    field_ = cv2.resize(
        np.array([[r.uniform(0.65, 1.15) for _ in range(4)] for _ in range(3)], np.float32),
        (fw, fh),
        interpolation=cv2.INTER_CUBIC,
    )
    yy, xx = np.mgrid[0:fh, 0:fw].astype(np.float32)
    vig = 1 - r.uniform(0.1, 0.4) * (((xx - fw / 2) / fw) ** 2 + ((yy - fh / 2) / fh) ** 2) * 2
    light = field_ * vig
    if r.random() < 0.5:
        # drawn at a quarter of the frame size and scaled up: the shadow is soft anyway
        qw, qh = max(1, fw // 4), max(1, fh // 4)
        sh_mask = np.zeros((qh, qw), np.uint8)
        p0 = (r.uniform(-0.2, 1.2) * qw, r.uniform(-0.2, 1.2) * qh)
        poly = np.array(
            [[p0[0] + r.uniform(-0.6, 0.6) * qw, p0[1] + r.uniform(-0.6, 0.6) * qh] for _ in range(4)],
            np.int32,
        )
        cv2.fillPoly(sh_mask, [cv2.convexHull(poly)], 255)
        k = (qh // 8) * 2 + 1
        small = cv2.GaussianBlur(sh_mask, (k, k), 0).astype(np.float32) / 255.0
        shadow = cv2.resize(small, (fw, fh), interpolation=cv2.INTER_LINEAR)
        light *= 1 - shadow * r.uniform(0.2, 0.5)
    gains = np.array([r.uniform(0.85, 1.1), r.uniform(0.92, 1.05), r.uniform(0.85, 1.15)], np.float32)
    img = np.clip(img * light[..., None] * gains[None, None, :], 0, 255).astype(np.uint8)
    blur = r.random()
    px = fh / 1080  # blur lengths below are for a 1080-line frame
    if blur < 0.2:
        ln = r.randint(2, max(3, round(3 * px)))
        k = np.zeros((ln, ln), np.float32)
        k[ln // 2, :] = 1.0 / ln
        rot = cv2.getRotationMatrix2D(((ln - 1) / 2, (ln - 1) / 2), r.uniform(0, 180), 1.0)
        k = cv2.warpAffine(k, rot, (ln, ln))
        img = cv2.filter2D(img, -1, k / max(k.sum(), 1e-6))
        info["blur"] = f"motion {ln}px"
    elif blur < 0.55:
        sig = r.uniform(0.4, 1.1) * math.sqrt(px)
        img = cv2.GaussianBlur(img, (0, 0), sig)
        info["blur"] = f"defocus {sig:.2f}"
    img = add_noise(img, r, r.uniform(3, 10))
    q = r.randint(60, 95)
    enc = _encode(img, "jpg", q)
    info.update(jpeg_quality=q, page_quad=[[round(float(x), 1), round(float(y), 1)] for x, y in dst])
    clipped, vis = clip(hulls, fw, fh)
    return Degraded(enc, "jpg", (fh, fw), clipped, vis, info)
