"""One synthetic page: content, layout, handwritten ink and hard negatives, then a scanner or a
webcam. ``generate_page`` is a pure function of its arguments (same seed, same page).

What counts as a signature is written down in models/corpus/README.md; in short, a full
handwritten signature (a name in cursive or an illegible scrawl, with or without a flourish),
wherever it sits on the page, is a signature. Initials, handwritten dates and mentions,
crossings-out, stamps and typeset script text are not: they are recorded as negatives.
"""

from __future__ import annotations

import functools
import random
from typing import Any

import cv2
import numpy as np
from faker import Faker

from models.corpus.content import BUILDERS, Ctx, Doc
from models.corpus.degrade import FRAMES, Degraded, Hull, clean, decode, scan, webcam, webcam_dpi
from models.corpus.layout import SIZES_MM, layout
from models.corpus.placement import Ink, place_negatives, place_signatures

DOC_TYPES: tuple[str, ...] = (
    "invoice", "receipt", "contract", "letter", "mandate",
    "delivery_note", "purchase_order", "payslip", "kyc_form", "other",
)  # fmt: skip  # same order as edge.contract.DOC_TYPES (a test checks they agree)

PROFILES = ("scan", "webcam")
LANGS = ("en", "fr")
LOCALES = {"en": "en_US", "fr": "fr_FR"}
SCAN_DPIS = (150, 150, 200, 200, 200, 240, 300)
# signatures on a signed page: mean about 2, up to 8
SIGNED_COUNTS = (1, 2, 3, 4, 5, 6, 7, 8)
SIGNED_WEIGHTS = (0.36, 0.34, 0.14, 0.07, 0.04, 0.025, 0.015, 0.01)
UNSIGNED_SHARE = 0.2  # overall target; about 35 % of pages print no signature slot
UNSIGNED_WITH_PLACES = 0.08
UNSIGNED_WITHOUT_PLACES = 0.45


class Page:
    """A generated page: the encoded file (JPEG or PNG, as a scanner or camera would write it),
    the image it decodes to (BGR uint8, decoded on first use) and the ground truth ``meta``."""

    def __init__(self, meta: dict[str, Any], encoded: bytes, ext: str) -> None:
        self.meta = meta
        self.encoded = encoded
        self.ext = ext
        self._image: np.ndarray | None = None
        # convex hulls of the labelled signatures' ink in image pixels (same order as
        # meta["signatures"]), for callers that move the page further (the sample video)
        self.signature_hulls: list[np.ndarray] = []

    @property
    def image(self) -> np.ndarray:
        if self._image is None:
            self._image = decode(self.encoded)
        return self._image


@functools.lru_cache(maxsize=2)
def _faker(lang: str) -> Faker:
    return Faker(LOCALES[lang])


def page_seed(seed: int, index: int) -> int:
    """The seed of page ``index`` of a run seeded with ``seed`` (stable across platforms)."""
    return int(np.random.SeedSequence([seed, index]).generate_state(1)[0])


def _signature_count(u: float, wanted: int, has_places: bool) -> int:
    """How many signatures a page gets. Pages that print no signature slot (most invoices and
    payslips, the middle pages of contracts) are unsigned more often and carry fewer; the
    shares are set so that overall about a fifth of pages are unsigned (UNSIGNED_SHARE) and
    signed pages average about two."""
    if has_places:
        return 0 if u < UNSIGNED_WITH_PLACES else wanted
    if u < UNSIGNED_WITHOUT_PLACES:
        return 0
    return min(wanted, 1 if u < 0.85 else 2 if u < 0.97 else 3)


def box_of(hull: Hull, w: int, h: int) -> list[int]:
    """Integer pixel box [x1, y1, x2, y2] (x2, y2 exclusive) around a hull, inside the image."""
    x1, y1 = np.floor(hull.min(0)).astype(int)
    x2, y2 = np.ceil(hull.max(0)).astype(int)
    return [int(max(0, x1)), int(max(0, y1)), int(min(w, x2)), int(min(h, y2))]


def _ink_box(img: np.ndarray, box: tuple[int, ...]) -> tuple[int, int, int, int]:
    """Shrink a font's text box to the pixels actually inked (glyph boxes include bearings)."""
    H, W = img.shape[:2]
    x1, y1, x2, y2 = max(0, box[0]), max(0, box[1]), min(W, box[2]), min(H, box[3])
    roi = img[y1:y2, x1:x2].min(axis=2) if x2 > x1 and y2 > y1 else np.zeros((0, 0), np.uint8)
    if roi.size == 0:
        return (x1, y1, max(x2, x1 + 1), max(y2, y1 + 1))
    ys, xs = np.nonzero(roi < int(np.median(img[:4, :4].min(axis=2))) - 60)
    if len(xs) == 0:
        return (x1, y1, x2, y2)
    return (x1 + int(xs.min()), y1 + int(ys.min()), x1 + int(xs.max()) + 1, y1 + int(ys.max()) + 1)


def _rect_hull(b: list[int]) -> Hull:
    return np.array([[b[0], b[1]], [b[2], b[1]], [b[2], b[3]], [b[0], b[3]]], np.float32)


def _sync_table_fields(doc: Doc) -> None:
    """The layout may shorten a description to fit its column: the truth follows the pixels."""
    items = doc.fields.get("line_items")
    for b in doc.blocks:
        if b.kind == "table" and items and len(b.data["rows"]) == len(items):
            for it, row in zip(items, b.data["rows"], strict=True):
                it["description"] = row[0]


def generate_page(
    seed: int,
    profile: str = "scan",
    lang: str = "en",
    doc_type: str | None = None,
    dpi: int | None = None,
    degrade: bool = True,
    frame: tuple[int, int] | None = None,
) -> Page:
    """Generate one page deterministically from ``seed``.

    ``profile`` is "scan", "webcam" or "mixed"; ``lang`` "en", "fr" or "mixed" (mixed picks from
    the seed); ``doc_type`` one of :data:`DOC_TYPES` or None to pick; ``dpi`` overrides the render
    resolution (tests use a low one for speed); ``frame`` fixes a webcam page's frame size (the
    committed sample set keeps its stills at 1080p; the seed still draws one, so the rest of the
    page is the same as without it); ``degrade=False`` returns the page as drawn, before
    the scanner or camera (same content and labels, no geometric or photometric change).
    """
    r = random.Random(seed)
    if profile == "mixed":
        profile = r.choice(PROFILES)
    if lang == "mixed":
        lang = r.choice(LANGS)
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of scan, webcam, mixed; got {profile!r}")
    if lang not in LANGS:
        raise ValueError(f"lang must be one of en, fr, mixed; got {lang!r}")
    if doc_type is None:
        doc_type = r.choice(DOC_TYPES)
    elif doc_type not in DOC_TYPES:
        raise ValueError(f"unknown document type {doc_type!r}; expected one of {', '.join(DOC_TYPES)}")
    fake = _faker(lang)
    fake.seed_instance(r.getrandbits(48))
    u, wanted = r.random(), r.choices(SIGNED_COUNTS, SIGNED_WEIGHTS)[0]
    ctx = Ctx(fake, r, lang)
    ctx.want = wanted
    doc = BUILDERS[doc_type](ctx)
    drawn = r.choice(FRAMES) if profile == "webcam" else None
    frame = (frame or drawn) if profile == "webcam" else None
    if dpi is None:
        dpi = r.choice(SCAN_DPIS) if frame is None else webcam_dpi(frame)
    laid = layout(doc, dpi, r)
    _sync_table_fields(doc)
    img = cv2.cvtColor(np.asarray(laid.image), cv2.COLOR_RGB2BGR)
    laid.printed_script = [_ink_box(img, b) for b in laid.printed_script]
    pen = Ink(img)
    n_sig = _signature_count(u, wanted, bool(laid.sign_places))
    place_signatures(r, laid, pen, doc, fake, dpi, n_sig)
    place_negatives(r, laid, pen, doc, fake, dpi)
    ph, pw = img.shape[:2]
    rects = (
        [c["box"] for c in laid.codes]
        + [list(b) for b in laid.printed_script]
        + [list(p["rect"]) for p in laid.sign_places]
    )
    hulls: list[Hull | None] = [it["hull"] for it in pen.items] + [_rect_hull(b) for b in rects]
    if not degrade:
        out: Degraded = clean(img, hulls)
    elif profile == "scan":
        out = scan(img, hulls, r, dpi)
    else:
        out = webcam(img, hulls, r, frame)
    H, W = out.shape
    sigs, negs, ignored = [], [], []
    sig_hulls: list[np.ndarray] = []
    n_ink = len(pen.items)
    for it, hull, vis in zip(pen.items, out.hulls[:n_ink], out.visible[:n_ink], strict=True):
        if hull is None or vis < 0.5:
            if it["label"] == "signature" and hull is not None:
                ignored.append(
                    {"box": box_of(hull, W, H), "kind": "truncated_signature", "visible": round(vis, 3)}
                )
            continue
        box = box_of(hull, W, H)
        if box[2] - box[0] < 2 or box[3] - box[1] < 2:
            continue
        if it["label"] == "signature":
            sigs.append({"box": box, "kind": "signature"})
            sig_hulls.append(hull)
        else:
            negs.append({"box": box, "kind": it["kind"]})
    rest = list(zip(out.hulls[n_ink:], out.visible[n_ink:], strict=True))
    nc, ns = len(laid.codes), len(laid.printed_script)
    codes = [
        {
            "kind": c["kind"],
            "payload": c["payload"],
            "box": box_of(h, W, H) if h is not None else None,
            "visible": round(v, 3),
        }
        for c, (h, v) in zip(laid.codes, rest[:nc], strict=True)
    ]
    negs += [
        {"box": box_of(h, W, H), "kind": "printed_script"}
        for h, v in rest[nc : nc + ns]
        if h is not None and v >= 0.5
    ]
    places = [box_of(h, W, H) for h, v in rest[nc + ns :] if h is not None and v >= 0.5]
    wmm, hmm = SIZES_MM[doc.size]
    meta: dict[str, Any] = {
        "seed": seed,
        "profile": profile,
        "lang": lang,
        "doc_type": doc_type,
        "dpi": dpi,
        "width": W,
        "height": H,
        "page_size_mm": [wmm, round(ph / dpi * 25.4, 1)] if doc.size == "receipt" else [wmm, hmm],
        "page_pixels": [pw, ph],
        "page_no": doc.page_no,
        "page_count": doc.page_count,
        "text": "\n".join(laid.text),
        "fields": doc.fields,
        "codes": codes,
        "signatures": sigs,
        "negatives": negs,
        "ignored": ignored,
        "expected_signature_places": len(laid.sign_places),
        "signature_places": places,
        "degradation": out.info,
    }
    meta["fields"].setdefault("qr", None)
    page = Page(meta, out.encoded, out.ext)
    page.signature_hulls = sig_hulls
    return page
