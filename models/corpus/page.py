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

from models.corpus import ink
from models.corpus.content import BUILDERS, Ctx, Doc
from models.corpus.degrade import Degraded, Hull, clean, decode, scan, webcam
from models.corpus.layout import SIZES_MM, Laid, layout

DOC_TYPES: tuple[str, ...] = (
    "invoice", "receipt", "contract", "letter", "mandate",
    "delivery_note", "purchase_order", "payslip", "kyc_form", "other",
)  # fmt: skip  # same order as edge.contract.DOC_TYPES (a test checks they agree)

PROFILES = ("scan", "webcam")
LANGS = ("en", "fr")
LOCALES = {"en": "en_US", "fr": "fr_FR"}
SCAN_DPIS = (150, 150, 200, 200, 200, 240, 300)
WEBCAM_DPIS = (96, 110, 120, 130)
# signatures on a signed page: mean about 2, up to 8
SIGNED_COUNTS = (1, 2, 3, 4, 5, 6, 7, 8)
SIGNED_WEIGHTS = (0.36, 0.34, 0.14, 0.07, 0.04, 0.025, 0.015, 0.01)
UNSIGNED_SHARE = 0.2  # overall target; about 35 % of pages print no signature slot
UNSIGNED_WITH_PLACES = 0.08
UNSIGNED_WITHOUT_PLACES = 0.45

ANNOTATIONS = {
    "en": [
        "Read and approved",
        "Approved",
        "OK",
        "Received",
        "Paid",
        "See attached",
        "Agreed",
        "Checked",
        "Copy",
        "urgent!",
    ],
    "fr": [
        "Lu et approuvé",
        "Bon pour accord",
        "Vu",
        "Reçu",
        "Payé",
        "Voir PJ",
        "OK",
        "Bon pour pouvoir",
        "Copie",
        "urgent !",
    ],
}
STAMP_WORDS = {
    "en": ["PAID", "RECEIVED", "APPROVED", "COPY", "ENTERED", "CERTIFIED TRUE COPY", "CONFIDENTIAL"],
    "fr": ["PAYÉ", "REÇU", "APPROUVÉ", "COPIE", "ENREGISTRÉ", "COPIE CONFORME", "CONFIDENTIEL"],
}


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


class Ink:
    """Composes ink onto the page and remembers each item's convex hull and kind."""

    def __init__(self, page: np.ndarray) -> None:
        self.page = page
        self.items: list[dict[str, Any]] = []  # {"kind", "label", "hull", "box"}

    def put(
        self,
        mask: np.ndarray,
        colour: tuple[int, int, int],
        x: int,
        y: int,
        label: str,
        kind: str,
        opacity: float = 1.0,
    ) -> dict[str, Any] | None:
        """Multiply ``mask`` in ``colour`` onto the page at (x, y); record its ink hull."""
        H, W = self.page.shape[:2]
        h, w = mask.shape
        x1, y1, x2, y2 = max(0, x), max(0, y), min(W, x + w), min(H, y + h)
        if x2 - x1 < 2 or y2 - y1 < 2:
            return None
        m = mask[y1 - y : y2 - y, x1 - x : x2 - x]
        ys, xs = np.nonzero(m >= ink.ALPHA_MIN)
        if len(xs) < 4:
            return None
        a = (m.astype(np.float32) * (opacity / 255.0))[..., None]
        roi = self.page[y1:y2, x1:x2].astype(np.float32)
        col = np.array(colour, np.float32)[None, None, :]
        # multiply: ink darkens what is below (printed lines show through stamps and vice versa)
        self.page[y1:y2, x1:x2] = np.clip(roi * (1 - a + a * col / 255.0), 0, 255).astype(np.uint8)
        pts = np.stack([xs + x1, ys + y1], 1).astype(np.float32)
        hull = cv2.convexHull(pts).reshape(-1, 2)
        # continuous coordinates: the hull of the ink pixels' squares, not of their corners
        offsets = np.array([[0, 0], [1, 0], [0, 1], [1, 1]], np.float32)
        hull = (hull[None, :, :] + offsets[:, None, :]).reshape(-1, 2)
        hull = cv2.convexHull(hull).reshape(-1, 2)
        box = [int(xs.min() + x1), int(ys.min() + y1), int(xs.max() + x1 + 1), int(ys.max() + y1 + 1)]
        item = {"label": label, "kind": kind, "hull": hull, "box": box}
        self.items.append(item)
        return item

    def boxes(self, label: str) -> list[list[int]]:
        return [it["box"] for it in self.items if it["label"] == label]


def _overlaps(b: list[int] | tuple[int, ...], others: list[list[int]], gap: int = 0) -> bool:
    return any(
        b[0] < o[2] + gap and o[0] < b[2] + gap and b[1] < o[3] + gap and o[1] < b[3] + gap for o in others
    )


def _fit(mask: np.ndarray, max_w: float, max_h: float) -> np.ndarray:
    h, w = mask.shape
    k = min(1.0, max_w / max(w, 1), max_h / max(h, 1))
    if k < 0.98:
        mask = cv2.resize(mask, (max(2, int(w * k)), max(2, int(h * k))), interpolation=cv2.INTER_AREA)
    return mask


COMPANY_WORDS = {
    "llc",
    "inc",
    "ltd",
    "plc",
    "group",
    "sa",
    "sarl",
    "sas",
    "snc",
    "and",
    "et",
    "&",
    "fils",
    "co",
}


def _is_person(name: str) -> bool:
    """People sign; companies do not (Faker's company names look like 'Keller Inc', 'Dupont SA')."""
    words = name.replace(",", " ").replace(".", " ").lower().split()
    return (
        len(words) >= 2 and not any(w in COMPANY_WORDS for w in words) and not any(c.isdigit() for c in name)
    )


def _names(doc: Doc, fake: Faker, n: int) -> list[str]:
    """Who signs: the people among the parties first, then anyone."""
    names = [p["name"] for p in doc.fields.get("parties", []) if _is_person(p["name"])]
    while len(names) < n:
        names.append(fake.name())
    return names


def _place_signatures(
    r: random.Random, laid: Laid, pen: Ink, doc: Doc, fake: Faker, dpi: int, n: int
) -> None:
    mm = dpi / 25.4
    H, W = pen.page.shape[:2]
    places = list(laid.sign_places)
    r.shuffle(places)
    names = _names(doc, fake, n)
    r.shuffle(names)
    for i in range(n):
        pen_px = max(1.0, mm * r.uniform(0.25, 0.75))
        colour = ink.ink_colour(r)
        if i < len(places):
            x1, y1, x2, y2 = places[i]["rect"]
            hgt = min((y2 - y1) * r.uniform(0.55, 1.0), mm * 22)
            # a slot labelled with a person's name is signed by that person
            who = places[i]["label"] if _is_person(places[i]["label"]) else names[i]
            m = ink.signature(r, who, hgt * 0.8, pen_px)
            m = _fit(m, (x2 - x1) * 0.98, (y2 - y1) * 1.3)
            mh, mw = m.shape
            x = x1 + r.randint(0, max(0, x2 - x1 - mw))
            y = (
                y2 - mh + r.randint(-mh // 8, mh // 5)
                if places[i]["style"] != "box"
                else y1 + r.randint(0, max(0, y2 - y1 - mh))
            )
            if _overlaps((x, y, x + mw, y + mh), pen.boxes("signature")):
                continue
        else:  # signed elsewhere: in a margin, under the text, across the page foot
            m = ink.signature(r, names[i], mm * r.uniform(7, 16), pen_px)
            big = [f for f in laid.free if f[2] - f[0] >= m.shape[1] * 0.7 and f[3] - f[1] >= m.shape[0]]
            for _ in range(12):
                if big and r.random() < 0.85:
                    fx1, fy1, fx2, fy2 = r.choice(big)
                    m2 = _fit(m, fx2 - fx1, fy2 - fy1)
                    mh, mw = m2.shape
                    x, y = r.randint(fx1, max(fx1, fx2 - mw)), r.randint(fy1, max(fy1, fy2 - mh))
                else:
                    m2 = _fit(m, W, H)
                    mh, mw = m2.shape
                    x, y = r.randint(0, max(0, W - mw)), r.randint(int(H * 0.1), max(int(H * 0.1), H - mh))
                if not _overlaps((x, y, x + mw, y + mh), pen.boxes("signature"), gap=int(mm * 2)):
                    m = m2
                    break
            else:
                continue
        pen.put(m, colour, x, y, "signature", "signature")


def _place_negatives(r: random.Random, laid: Laid, pen: Ink, doc: Doc, fake: Faker, dpi: int) -> None:
    mm = dpi / 25.4
    H, W = pen.page.shape[:2]
    sigs = [list(b) for b in pen.boxes("signature")]
    lang = doc.lang

    def near(w: int, h: int, anchor: list[int]) -> tuple[int, int] | None:
        for _ in range(10):
            side = r.random()
            if side < 0.35:
                x, y = anchor[0] - w - r.randint(int(mm * 2), int(mm * 15)), anchor[1] + r.randint(-h, h)
            elif side < 0.7:
                x, y = anchor[2] + r.randint(int(mm * 2), int(mm * 15)), anchor[1] + r.randint(-h, h)
            elif side < 0.85:
                x, y = (
                    anchor[0] + r.randint(-w // 2, w // 2),
                    anchor[1] - h - r.randint(int(mm * 1), int(mm * 6)),
                )
            else:
                x, y = anchor[0] + r.randint(-w // 2, w // 2), anchor[3] + r.randint(int(mm * 1), int(mm * 6))
            if 0 <= x <= W - w and 0 <= y <= H - h and not _overlaps((x, y, x + w, y + h), sigs, gap=int(mm)):
                return x, y
        return None

    def anywhere(w: int, h: int) -> tuple[int, int] | None:
        for _ in range(10):
            if laid.free and r.random() < 0.7:
                fx1, fy1, fx2, fy2 = r.choice(laid.free)
                x, y = r.randint(fx1, max(fx1, fx2 - w)), r.randint(fy1, max(fy1, fy2 - h))
            else:
                x, y = r.randint(0, max(0, W - w)), r.randint(0, max(0, H - h))
            if not _overlaps((x, y, x + w, y + h), sigs, gap=int(mm)):
                return x, y
        return None

    # form values filled in by hand: annotations
    for fv in laid.form_values:
        m = _fit(ink.handwriting(r, fv["text"], fv["h"] * 1.1), fv["w"], fv["h"] * 1.8)
        x, y = fv["xy"]
        if not _overlaps((x, y, x + m.shape[1], y + m.shape[0]), sigs):
            pen.put(m, ink.ink_colour(r), x, y - m.shape[0] // 5, "negative", "annotation")
    # handwritten mentions and dates beside signatures
    for b in sigs:
        if r.random() < 0.35:
            text = (
                r.choice(ANNOTATIONS[lang])
                if r.random() < 0.5
                else fake.date(pattern=r.choice(["%d/%m/%Y", "%d.%m.%y", "%m/%d/%Y"]))
            )
            m = ink.handwriting(r, text, mm * r.uniform(3, 6))
            xy = near(m.shape[1], m.shape[0], b)
            if xy:
                pen.put(m, ink.ink_colour(r), *xy, "negative", "annotation")
    # initials: at the foot of contract pages, sometimes in a margin elsewhere
    if (doc.doc_type == "contract" and doc.page_count > 1 and r.random() < 0.8) or r.random() < 0.1:
        names = _names(doc, fake, 2)
        for nm in names[: r.choice([1, 1, 2])]:
            ini = "".join(p[0] for p in nm.split()[:2] if p[:1].isalpha()) + ("." if r.random() < 0.3 else "")
            m = ink.handwriting(r, ini, mm * r.uniform(4, 7))
            xy = None
            for _ in range(6):
                x, y = (
                    int(W - m.shape[1] - mm * r.uniform(8, 60)),
                    int(H - m.shape[0] - mm * r.uniform(4, 14)),
                )
                if not _overlaps((x, y, x + m.shape[1], y + m.shape[0]), sigs + pen.boxes("negative")):
                    xy = (x, y)
                    break
            if xy:
                pen.put(m, ink.ink_colour(r), *xy, "negative", "initials")
    # stamps: a third of pages; often over a signature, as a company stamp on the signature line
    if r.random() < 0.3:
        name = doc.fields.get("parties", [{"name": fake.company()}])[0]["name"][:28]
        lines = [r.choice(STAMP_WORDS[lang]), name] + (
            [fake.date(pattern="%d/%m/%Y")] if r.random() < 0.6 else []
        )
        m = ink.stamp(r, lines, dpi)
        colour = r.choice(ink.STAMP_INKS)
        if sigs and r.random() < 0.45:
            b = r.choice(sigs)
            x = int((b[0] + b[2]) / 2 - m.shape[1] / 2 + r.uniform(-0.3, 0.3) * m.shape[1])
            y = int((b[1] + b[3]) / 2 - m.shape[0] / 2 + r.uniform(-0.3, 0.3) * m.shape[0])
            pen.put(m, colour, x, y, "negative", "stamp", opacity=r.uniform(0.6, 0.9))
        else:
            xy = anywhere(m.shape[1], m.shape[0])
            if xy:
                pen.put(m, colour, *xy, "negative", "stamp", opacity=r.uniform(0.6, 0.95))
    # crossings-out over printed words, and the odd doodle
    if r.random() < 0.2 and laid.words:
        for wb in r.sample(laid.words, min(len(laid.words), r.choice([1, 1, 2, 3]))):
            w, h = wb[2] - wb[0], wb[3] - wb[1]
            m = ink.scribble(
                r, w * r.uniform(1.0, 1.15), h * r.uniform(0.5, 1.0), max(1.0, mm * r.uniform(0.25, 0.6))
            )
            x, y = wb[0] - int(w * 0.05), wb[1] + int(h * 0.1)
            if not _overlaps((x, y, x + m.shape[1], y + m.shape[0]), sigs):
                pen.put(m, ink.ink_colour(r), x, y, "negative", "scribble")
    if r.random() < 0.08:
        m = ink.scribble(r, mm * r.uniform(8, 30), mm * r.uniform(5, 15), max(1.0, mm * 0.4))
        xy = anywhere(m.shape[1], m.shape[0])
        if xy:
            pen.put(m, ink.ink_colour(r), *xy, "negative", "scribble")


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
) -> Page:
    """Generate one page deterministically from ``seed``.

    ``profile`` is "scan", "webcam" or "mixed"; ``lang`` "en", "fr" or "mixed" (mixed picks from
    the seed); ``doc_type`` one of :data:`DOC_TYPES` or None to pick; ``dpi`` overrides the render
    resolution (tests use a low one for speed); ``degrade=False`` returns the page as drawn, before
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
    if dpi is None:
        dpi = r.choice(SCAN_DPIS if profile == "scan" else WEBCAM_DPIS)
    laid = layout(doc, dpi, r)
    _sync_table_fields(doc)
    img = cv2.cvtColor(np.asarray(laid.image), cv2.COLOR_RGB2BGR)
    laid.printed_script = [_ink_box(img, b) for b in laid.printed_script]
    pen = Ink(img)
    n_sig = _signature_count(u, wanted, bool(laid.sign_places))
    _place_signatures(r, laid, pen, doc, fake, dpi, n_sig)
    _place_negatives(r, laid, pen, doc, fake, dpi)
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
        out = webcam(img, hulls, r)
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
