"""Putting ink on a drawn page: signatures on their slots or elsewhere, then the hard
negatives (hand-filled form values, annotations and dates beside signatures, initials, stamps,
crossings-out and doodles). Every item's ink hull is recorded for the ground truth.
"""

from __future__ import annotations

import random
from datetime import datetime
from typing import Any

import cv2
import numpy as np
from faker import Faker

from models.corpus import ink
from models.corpus.content import Doc
from models.corpus.layout import Laid
from models.corpus.vocab import T

# Faker draws a date between 1970 and its ``end_datetime``, which defaults to *now*: the same
# seed then gives another date as the clock moves (the committed samples stopped reproducing
# after a few hours). A fixed end keeps a seed's page the same on any day.
DATES_END = datetime(2026, 12, 1)

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


def _captions() -> set[str]:
    """Every printed caption of the vocabulary ("Le client", "Received in good condition by"):
    a slot labelled with one of these is signed by whoever signs, never with the caption."""
    out: set[str] = set()
    for table in T.values():
        for v in table.values():
            out.update(x for x in (v if isinstance(v, list) else [v]) if isinstance(x, str))
    return {c.strip().lower() for c in out}


_CAPTIONS = _captions()


def _slot_signer(label: str) -> bool:
    """True when a signature slot is labelled with a person's name (letters, named co-signers)."""
    return label.strip().lower() not in _CAPTIONS and _is_person(label)


def _names(doc: Doc, fake: Faker, n: int) -> list[str]:
    """Who signs: the people among the parties first, then anyone."""
    names = [p["name"] for p in doc.fields.get("parties", []) if _is_person(p["name"])]
    while len(names) < n:
        names.append(fake.name())
    return names


# Share of slot signatures written low, across the rule and the typed name under it, as people
# sign letters and memos (the lower half of the strokes over the name's letters).
SIGN_ACROSS_NAME = 0.35


def place_signatures(r: random.Random, laid: Laid, pen: Ink, doc: Doc, fake: Faker, dpi: int, n: int) -> None:
    mm = dpi / 25.4
    H, W = pen.page.shape[:2]
    places = list(laid.sign_places)
    r.shuffle(places)
    names = _names(doc, fake, n)
    r.shuffle(names)
    for i in range(n):
        # ballpoint and fountain pens; a fifth sign with a felt-tip or a marker
        pen_px = max(1.0, mm * (r.uniform(0.25, 0.75) if r.random() < 0.8 else r.uniform(0.75, 1.1)))
        colour = ink.ink_colour(r)
        if i < len(places):
            x1, y1, x2, y2 = places[i]["rect"]
            hgt = min((y2 - y1) * r.uniform(0.55, 1.0), mm * 22)
            # a slot labelled with a person's name is signed by that person
            who = places[i]["label"] if _slot_signer(places[i]["label"]) else names[i]
            m = ink.signature(r, who, hgt * 0.8, pen_px)
            m = _fit(m, (x2 - x1) * 0.98, (y2 - y1) * 1.3)
            mh, mw = m.shape
            x = x1 + r.randint(0, max(0, x2 - x1 - mw))
            if places[i]["style"] == "box":
                y = y1 + r.randint(0, max(0, y2 - y1 - mh))
            elif r.random() < SIGN_ACROSS_NAME:
                # signed low: the strokes run through the rule and the typed name under it
                y = y2 - mh + int(mh * r.uniform(0.25, 0.6))
            else:
                y = y2 - mh + r.randint(-mh // 8, mh // 5)
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


def place_negatives(r: random.Random, laid: Laid, pen: Ink, doc: Doc, fake: Faker, dpi: int) -> None:
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
                else fake.date(pattern=r.choice(["%d/%m/%Y", "%d.%m.%y", "%m/%d/%Y"]), end_datetime=DATES_END)
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
    # stamps: a third of pages; most often over a signature, as a company stamp on the signature line
    if r.random() < 0.35:
        name = doc.fields.get("parties", [{"name": fake.company()}])[0]["name"][:28]
        lines = [r.choice(STAMP_WORDS[lang]), name] + (
            [fake.date(pattern="%d/%m/%Y", end_datetime=DATES_END)] if r.random() < 0.6 else []
        )
        m = ink.stamp(r, lines, dpi)
        colour = r.choice(ink.STAMP_INKS)
        if sigs and r.random() < 0.6:
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
