"""Lay a :class:`~models.corpus.content.Doc` out on a page and draw it with PIL.

The style (fonts, sizes, margins, accent colour, table look, alignment) is drawn from the page's
random generator, so two invoices rarely look alike. While drawing, the engine records the text in
reading order, the places where a signature belongs (lines and boxes), the free areas where ink
can go "elsewhere", the QR codes and the printed script-font text (a hard negative).

Layout is done at most a few times: if the content does not fit, the whole page is laid out again
with smaller type, and as a last resort paragraphs are dropped (the text records only what is drawn).
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from models.corpus import fonts
from models.corpus.content import Block, Doc
from models.corpus.qr import qr_matrix
from models.corpus.vocab import T

log = logging.getLogger(__name__)

SIZES_MM = {"a4": (210.0, 297.0), "letter": (215.9, 279.4), "receipt": (80.0, 260.0)}
ACCENTS = [(0, 0, 0), (20, 40, 110), (110, 20, 30), (20, 90, 50), (70, 70, 70), (0, 90, 130), (120, 60, 0)]
# Brand colours bright enough that their luminance (120-170) sits near a scanner's or OCR's
# threshold: orange, cyan, green, teal headings as on many real invoices (and a magenta).
BRIGHT_ACCENTS = [(255, 153, 0), (240, 120, 0), (0, 160, 220), (110, 180, 40), (0, 170, 170), (230, 0, 120)]
BRIGHT_SHARE = 0.2  # of pages whose headings, titles and labels are printed in one of them
FAINT_SHARE = 0.3  # of pages whose small print (terms, notes, legal lines, page numbers) is light grey
FAINT_GREYS = (125, 175)

Rect = tuple[int, int, int, int]


@dataclass
class Style:
    family: str
    body_path: str
    bold_path: str
    size_pt: float
    margin_mm: tuple[float, float, float, float]  # left, top, right, bottom
    leading: float
    accent: tuple[int, int, int]
    title_align: str
    kv_side: str
    table_look: str
    paper: tuple[int, int, int]
    small_ink: tuple[int, int, int] = (15, 15, 15)  # small print's colour (light grey on some pages)


def _side_stream(r: random.Random) -> random.Random:
    """A generator seeded from ``r``'s state without drawing from it, for style choices added
    after the corpus was first fixed: a page that does not take them is drawn exactly as before."""
    return random.Random(repr(r.getstate()[1][:8]))


def light_print(r: random.Random, st: Style) -> None:
    """Print some pages' headings in a bright brand colour and their small print in light grey
    (see BRIGHT_ACCENTS, FAINT_SHARE): the faint print OCR must not take for paper."""
    side = _side_stream(r)
    if side.random() < BRIGHT_SHARE:
        st.accent = side.choice(BRIGHT_ACCENTS)
    if side.random() < FAINT_SHARE:
        g = side.randint(*FAINT_GREYS)
        st.small_ink = (g, g, g)


def pick_style(r: random.Random, doc: Doc) -> Style:
    if doc.size == "receipt":
        family = "mono" if r.random() < 0.8 else "sans"
    elif doc.doc_type in ("letter", "other", "contract") and r.random() < 0.15:
        family = "mono"  # typewritten letters and memos (older archives are full of them)
    else:
        family = r.choice(["sans", "sans", "serif"])
    body = r.choice(fonts.available(family))
    small_page = doc.size == "receipt"
    m = (r.uniform(4, 7),) * 4 if small_page else tuple(r.uniform(12, 26) for _ in range(4))
    tint = r.randrange(242, 256)
    return Style(
        family=family,
        body_path=body,
        bold_path=fonts.bold_of(body),
        size_pt=r.uniform(7.5, 9.5) if small_page else r.uniform(9.0, 12.0),
        margin_mm=m,  # type: ignore[arg-type]
        leading=r.uniform(1.15, 1.5),
        accent=r.choice(ACCENTS),
        title_align=r.choice(["left", "center", "right"]) if not small_page else "center",
        kv_side=r.choice(["left", "right"]),
        table_look=r.choice(["ruled", "grid", "zebra", "plain"]),
        paper=(tint, tint, max(225, tint - r.randrange(0, 12))),
    )


@dataclass
class Laid:
    """What drawing a page produced, in page pixels."""

    image: Image.Image
    text: list[str] = field(default_factory=list)
    sign_places: list[dict[str, Any]] = field(default_factory=list)  # {"rect", "style", "label"}
    free: list[Rect] = field(default_factory=list)
    printed_script: list[Rect] = field(default_factory=list)
    codes: list[dict[str, Any]] = field(default_factory=list)
    form_values: list[dict[str, Any]] = field(default_factory=list)  # values to be handwritten
    words: list[Rect] = field(default_factory=list)  # some printed word boxes (for crossings-out)
    overflow: bool = False


class Page:
    """Drawing state for one layout pass."""

    def __init__(self, doc: Doc, st: Style, dpi: int, r: random.Random, scale: float, dry: bool) -> None:
        self.doc, self.st, self.dpi, self.r, self.dry = doc, st, dpi, r, dry
        wmm, hmm = SIZES_MM[doc.size]
        self.W, self.H = round(wmm / 25.4 * dpi), round(hmm / 25.4 * dpi)
        self.img = Image.new("RGB", (1, 1) if dry else (self.W, self.H), st.paper)
        self.d = ImageDraw.Draw(self.img)
        ml, mt, mr, mb = (self.mm(v) for v in st.margin_mm)
        self.x0, self.x1, self.y, self.ybot = ml, self.W - mr, mt, self.H - mb - self.pt(st.size_pt * 2.2)
        self.size = st.size_pt * scale
        self.out = Laid(self.img)

    # units
    def mm(self, v: float) -> int:
        return round(v / 25.4 * self.dpi)

    def pt(self, v: float) -> int:
        return max(6, round(v / 72 * self.dpi))

    def font(self, rel: float = 1.0, bold: bool = False) -> ImageFont.FreeTypeFont:
        return fonts.font(self.st.bold_path if bold else self.st.body_path, self.pt(self.size * rel))

    def line_h(self, f: ImageFont.FreeTypeFont) -> int:
        return round(f.size * self.st.leading)

    # primitives
    def text(
        self,
        x: float,
        y: float,
        s: str,
        f: ImageFont.FreeTypeFont,
        fill: Any = (15, 15, 15),
        anchor: str = "la",
    ) -> None:
        if not self.dry and s:
            self.d.text((x, y), s, font=f, fill=fill, anchor=anchor)

    def wrap(self, s: str, f: ImageFont.FreeTypeFont, width: float) -> list[str]:
        lines, cur = [], ""
        for w in s.split():
            cand = f"{cur} {w}" if cur else w
            if cur and f.getlength(cand) > width:
                lines.append(cur)
                cur = w
            else:
                cur = cand
        if cur:
            lines.append(cur)
        return lines

    def room(self, h: float) -> bool:
        return self.y + h <= self.ybot

    def gap(self, rel: float = 0.6) -> None:
        self.y += round(self.pt(self.size) * rel)


def _letterhead(p: Page, b: Block) -> None:
    r, st = p.r, p.st
    name_f = p.font(1.7, bold=True)
    script = r.random() < 0.22
    x = p.x0
    if b.data.get("logo"):
        s = p.mm(r.uniform(12, 20))
        shape = r.randrange(3)  # drawn in both passes so the probe and the page stay in step
        if not p.dry:
            box = (x, p.y, x + s, p.y + s)
            if shape == 0:
                p.d.ellipse(box, fill=st.accent)
            elif shape == 1:
                p.d.rectangle(box, fill=st.accent)
            else:
                p.d.polygon([(x, p.y + s), (x + s // 2, p.y), (x + s, p.y + s)], fill=st.accent)
            ini = "".join(w[0] for w in b.data["name"].split()[:2] if w[:1].isalpha()).upper()
            p.text(x + s / 2, p.y + s / 2, ini, fonts.font(st.bold_path, s * 0.4), fill=st.paper, anchor="mm")
        x += s + p.mm(4)
    center = b.data.get("center")
    drawn = b.data["name"]
    if script:
        # A company name set in a script face; a third of them are logotypes drawn in a
        # handwriting face, large, sometimes underlined with a swash (old letterheads: the
        # printed look-alikes of a signature that a detector must learn to leave alone).
        logotype = r.random() < 0.35
        role = "signature" if logotype else "printed_script"
        path = r.choice(fonts.available(role))
        size = round(name_f.size * (r.uniform(1.6, 2.4) if logotype else 1.3))
        if logotype:
            drawn = fonts.fit_text(path, drawn)
            room = (p.x1 - p.x0) if center else (p.x1 - x)
            size = min(size, int(size * room / max(1.0, fonts.font(path, size).getlength(drawn))))
        sf = fonts.font(path, size)
        anchor_x = (p.x0 + p.x1) / 2 if center else x
        anchor = "ma" if center else "la"
        bbox = list(p.d.textbbox((anchor_x, p.y), drawn, font=sf, anchor=anchor))
        colour = st.accent if not logotype or r.random() < 0.6 else (20, 20, 20)
        p.text(anchor_x, p.y, drawn, sf, fill=colour, anchor=anchor)
        if logotype and r.random() < 0.5:
            x1, x2, yb = bbox[0], bbox[2], bbox[3] + p.pt(2)
            rise = (bbox[3] - bbox[1]) * r.uniform(0.05, 0.25)
            width = max(2, p.pt(r.uniform(1.0, 2.2)))
            pts = [(x1 + (x2 - x1) * k / 12, yb - rise * (k / 12) ** 2) for k in range(13)]
            if not p.dry:
                p.d.line(pts, fill=colour, width=width, joint="curve")
            bbox[3] = int(yb + width)
        p.out.printed_script.append(tuple(int(v) for v in bbox))  # type: ignore[arg-type]
        p.y = max(p.y + p.line_h(sf), bbox[3] + p.pt(3))
    else:
        if center:
            p.text((p.x0 + p.x1) / 2, p.y, b.data["name"], name_f, fill=st.accent, anchor="ma")
        else:
            p.text(x, p.y, b.data["name"], name_f, fill=st.accent)
        p.y += p.line_h(name_f)
    p.out.text.append(drawn)
    f = p.font(0.85)
    for line in b.data["lines"]:
        if center:
            p.text((p.x0 + p.x1) / 2, p.y, line, f, anchor="ma")
        else:
            p.text(x, p.y, line, f)
        p.y += p.line_h(f)
        p.out.text.append(line)
    p.gap(1.2)


def _title(p: Page, b: Block) -> None:
    f = p.font(1.6, bold=True)
    al = p.st.title_align
    x = {"left": p.x0, "center": (p.x0 + p.x1) / 2, "right": p.x1}[al]
    p.text(
        x, p.y, b.data["text"], f, fill=p.st.accent, anchor={"left": "la", "center": "ma", "right": "ra"}[al]
    )
    p.out.text.append(b.data["text"])
    p.y += p.line_h(f)
    p.gap(0.8)


def _heading(p: Page, b: Block) -> None:
    f = p.font(1.1, bold=True)
    if not p.room(p.line_h(f) * 3):
        p.out.overflow = True
        return
    p.gap(0.4)
    p.text(p.x0, p.y, b.data["text"], f, fill=p.st.accent)
    p.out.text.append(b.data["text"])
    p.y += p.line_h(f)


def _kv(p: Page, b: Block) -> None:
    f, fb = p.font(), p.font(bold=True)
    lw = max(fb.getlength(k + ":") for k, _ in b.data["items"]) + p.mm(3)
    vw = max(f.getlength(v) for _, v in b.data["items"])
    x = p.x0 if p.st.kv_side == "left" or p.doc.size == "receipt" else max(p.x0, p.x1 - lw - vw)
    for k, v in b.data["items"]:
        p.text(x, p.y, k + ":", fb)
        p.text(x + lw, p.y, v, f)
        p.out.text.append(f"{k}: {v}")
        p.y += p.line_h(f)
    p.gap()


def _addresses(p: Page, b: Block) -> None:
    f, fb = p.font(), p.font(bold=True)
    mid = (p.x0 + p.x1) / 2 + p.mm(5)
    y0, ys = p.y, []
    for x, title, lines in (
        (p.x0, b.data.get("left_title"), b.data["left"]),
        (mid, b.data.get("right_title"), b.data["right"]),
    ):
        if not lines:
            continue
        y = y0
        if title:
            p.text(x, y, title, fb, fill=p.st.accent)
            p.out.text.append(title)
            y += p.line_h(fb)
        for line in lines:
            p.text(x, y, line, f)
            p.out.text.append(line)
            y += p.line_h(f)
        ys.append(y)
    p.y = max(ys or [y0])
    p.gap(1.0)


def _para(p: Page, b: Block) -> None:
    rel = 0.8 if b.data.get("small") else 1.0
    f = p.font(rel, bold=bool(b.data.get("bold")))
    if b.data.get("script"):
        f = fonts.font(p.r.choice(fonts.available("printed_script")), round(f.size * 1.5))
    lines = p.wrap(b.data["text"], f, p.x1 - p.x0)
    if not p.room(p.line_h(f) * len(lines)):
        p.out.overflow = True
        return
    for line in lines:
        if b.data.get("center"):
            x, anchor = (p.x0 + p.x1) / 2, "ma"
        elif b.data.get("right"):
            x, anchor = p.x1, "ra"
        else:
            x, anchor = p.x0, "la"
        words = line.split()
        take, k = p.r.random() < 0.3, p.r.randrange(max(1, len(words)))
        if b.data.get("script"):
            p.out.printed_script.append(
                tuple(int(v) for v in p.d.textbbox((x, p.y), line, font=f, anchor=anchor))
            )  # type: ignore[arg-type]
        elif len(p.out.words) < 40 and take and len(words) > 2 and anchor == "la":
            wx = x + f.getlength(" ".join(words[:k]) + (" " if k else ""))
            p.out.words.append((int(wx), p.y, int(wx + f.getlength(words[k])), p.y + f.size))
        p.text(x, p.y, line, f, fill=p.st.small_ink if rel < 1 else (15, 15, 15), anchor=anchor)
        p.out.text.append(line)
        p.y += p.line_h(f)
    p.gap(0.5)


def _columns(p: Page, b: Block) -> None:
    """Body text set in two columns (newsletters, terms and conditions): left column first."""
    f = p.font(0.9)
    gap = p.mm(6)
    cw = (p.x1 - p.x0 - gap) / 2
    lines = p.wrap(b.data["text"], f, cw)
    half = (len(lines) + 1) // 2
    lh = p.line_h(f)
    if not p.room(lh * half):
        p.out.overflow = True
        return
    for col, chunk in enumerate((lines[:half], lines[half:])):
        x = p.x0 + col * (cw + gap)
        for i, line in enumerate(chunk):
            p.text(x, p.y + i * lh, line, f)
            p.out.text.append(line)
    p.y += lh * half
    p.gap(0.6)


def _bullets(p: Page, b: Block) -> None:
    for it in b.data["items"]:
        _para(p, Block("para", {"text": "• " + it}))


def _table(p: Page, b: Block) -> None:
    f, fb = p.font(0.95), p.font(0.95, bold=True)
    heads, rows, align = b.data["headers"], b.data["rows"], b.data["align"]
    n = len(heads)
    width = p.x1 - p.x0
    num_w = [max([fb.getlength(heads[i])] + [f.getlength(r[i]) for r in rows]) + p.mm(4) for i in range(1, n)]
    desc_w = max(width - sum(num_w), width * 0.3)
    xs = [p.x0, p.x0 + desc_w]
    for w in num_w[:-1]:
        xs.append(xs[-1] + w)
    xs.append(p.x1)
    rh = p.line_h(f) + p.mm(1)
    look = p.st.table_look if b.data.get("rules", True) else "plain"
    pad = p.mm(1)
    if not p.dry:
        if look in ("zebra", "grid"):
            p.d.rectangle((p.x0, p.y, p.x1, p.y + rh), fill=tuple(min(255, c + 200) for c in p.st.accent))
        p.d.line((p.x0, p.y + rh, p.x1, p.y + rh), fill=p.st.accent, width=max(1, p.pt(0.8)))
    y0 = p.y

    def cell(i: int, y: int, s: str, font: ImageFont.FreeTypeFont) -> None:
        if align[i] == "l":
            p.text(xs[i] + pad, y + pad, s, font)
        else:
            p.text(xs[i + 1] - pad, y + pad, s, font, anchor="ra")

    for i, h in enumerate(heads):
        cell(i, p.y, h, fb)
    p.out.text.append(" ".join(heads))
    p.y += rh
    for k, row in enumerate(rows):
        desc = row[0]
        while f.getlength(desc) > desc_w - 2 * pad and len(desc) > 4:
            desc = desc[:-1]
        if desc != row[0]:
            row[0] = desc  # keep text, fields and pixels in agreement
        if not p.dry and look == "zebra" and k % 2:
            p.d.rectangle((p.x0, p.y, p.x1, p.y + rh), fill=(238, 238, 238))
        for i, s in enumerate(row):
            cell(i, p.y, s, f)
        p.out.text.append(" ".join(s for s in row if s))
        p.y += rh
        if not p.dry and look in ("ruled", "grid"):
            p.d.line((p.x0, p.y, p.x1, p.y), fill=(150, 150, 150), width=1)
    if not p.dry and look == "grid":
        for x in xs:
            p.d.line((x, y0, x, p.y), fill=(150, 150, 150), width=1)
        p.d.rectangle((p.x0, y0, p.x1, p.y), outline=(100, 100, 100), width=1)
    p.gap(0.8)


def _totals(p: Page, b: Block) -> None:
    f, fb = p.font(), p.font(1.05, bold=True)
    lw = max(fb.getlength(k) for k, _, _ in b.data["items"]) + p.mm(6)
    vw = max(fb.getlength(v) for _, v, _ in b.data["items"])
    x = p.x1 - lw - vw if p.doc.size != "receipt" else p.x0
    for k, v, bold in b.data["items"]:
        ff = fb if bold else f
        p.text(x, p.y, k, ff)
        p.text(p.x1, p.y, v, ff, anchor="ra")
        p.out.text.append(f"{k} {v}")
        p.y += p.line_h(ff)
    p.gap(1.0)


def _qr(p: Page, b: Block) -> None:
    m = qr_matrix(b.data["payload"], p.r.randrange(8))
    mod = max(2, round(p.mm(p.r.uniform(0.45, 0.7))))
    side = m.shape[0] * mod
    if not p.room(side):
        p.out.overflow = True
        return
    x = int(p.r.choice([p.x0, p.x1 - side, (p.x0 + p.x1 - side) / 2]))
    y = p.y
    if not p.dry:
        tile = np.where(np.kron(m, np.ones((mod, mod), dtype=bool))[..., None], 0, 255).astype(np.uint8)
        p.img.paste(Image.fromarray(np.repeat(tile, 3, axis=2)), (x, y))
    p.out.codes.append({"kind": "qr", "payload": b.data["payload"], "box": [x, y, x + side, y + side]})
    p.y += side
    if b.data.get("caption"):
        f = p.font(0.8)
        p.text(x, p.y, b.data["caption"], f)
        p.out.text.append(b.data["caption"])
        p.y += p.line_h(f)
    p.gap()


def _form(p: Page, b: Block) -> None:
    f, fl = p.font(), p.font(0.75)
    two = p.r.random() < 0.5
    cols = 2 if two else 1
    cw = (p.x1 - p.x0) / cols
    bh = fl.size + p.line_h(f) + p.mm(3)
    hand = p.r.random() < 0.4
    for i, (k, v) in enumerate(b.data["items"]):
        c = i % cols
        x = p.x0 + c * cw
        if not p.dry:
            p.d.rectangle((x, p.y, x + cw - p.mm(2), p.y + bh), outline=(90, 90, 90), width=max(1, p.pt(0.6)))
        p.text(x + p.mm(1), p.y + p.mm(0.8), k, fl, fill=p.st.accent)
        vx, vy = x + p.mm(2), p.y + fl.size + p.mm(1.5)
        if hand:
            p.out.form_values.append(
                {"xy": (int(vx), int(vy)), "text": v, "h": f.size, "w": int(cw - p.mm(5))}
            )
        else:
            p.text(vx, vy, v, f)
        # the text is what is printed, the label over its value and no colon between them; a
        # value filled in by hand is not printed (fields still hold it)
        p.out.text.append(k if hand else f"{k} {v}")
        if c == cols - 1 or i == len(b.data["items"]) - 1:
            p.y += bh + p.mm(1.5)
    p.gap()


def _checks(p: Page, b: Block) -> None:
    f = p.font()
    s = round(f.size * 0.9)
    for checked, label in b.data["items"]:
        if not p.dry:
            p.d.rectangle((p.x0, p.y, p.x0 + s, p.y + s), outline=(40, 40, 40), width=max(1, p.pt(0.7)))
            if checked:
                w = max(2, p.pt(1.2))
                p.d.line(
                    (
                        p.x0 + s * 0.15,
                        p.y + s * 0.5,
                        p.x0 + s * 0.4,
                        p.y + s * 0.85,
                        p.x0 + s * 1.1,
                        p.y - s * 0.1,
                    ),
                    fill=(30, 40, 120),
                    width=w,
                )
        p.text(p.x0 + s * 1.6, p.y, label, f)
        p.out.text.append(("[x] " if checked else "[ ] ") + label)
        p.y += p.line_h(f) + p.mm(1)
    p.gap()


def _sign(p: Page, b: Block) -> None:
    slots = b.data["slots"]
    style = b.data.get("style", "line")
    f = p.font(0.9)
    per_row = min(len(slots), 3 if p.doc.size != "receipt" else 1)
    cw = (p.x1 - p.x0) / per_row
    h = p.mm(p.r.uniform(16, 26))
    rows = (len(slots) + per_row - 1) // per_row
    need = rows * (h + p.line_h(f) * 2 + p.mm(4))
    if not p.room(need):
        # signature blocks sit at the foot of the page rather than get lost
        p.y = max(p.y, p.ybot - need) if p.ybot - need > p.H * 0.4 else p.y
        p.out.overflow = p.out.overflow or not p.room(need)
    p.gap(1.0)
    for i, label in enumerate(slots):
        c, row_i = i % per_row, i // per_row
        x = p.x0 + c * cw
        w = cw - p.mm(8)
        y = p.y + row_i * (h + p.line_h(f) * 2 + p.mm(4))
        if style != "name_below":
            p.text(x, y, label, f)
            p.out.text.append(label)
            top = y + p.line_h(f)
        else:
            top = y
        lw = max(1, p.pt(0.7))
        if style == "box":
            rect = (int(x), int(top), int(x + w), int(top + h))
            if not p.dry:
                p.d.rectangle(rect, outline=(60, 60, 60), width=lw)
            place = (rect[0] + lw * 2, rect[1] + lw * 2, rect[2] - lw * 2, rect[3] - lw * 2)
        else:
            ly = int(top + h)
            if not p.dry:
                if style == "dotted":
                    for dx in range(int(x), int(x + w), p.mm(1.5)):
                        p.d.line((dx, ly, dx + p.mm(0.6), ly), fill=(60, 60, 60), width=lw)
                else:
                    p.d.line((x, ly, x + w, ly), fill=(60, 60, 60), width=lw)
            place = (int(x), int(top + p.mm(2)), int(x + w), ly + p.mm(3))
        p.out.sign_places.append({"rect": place, "style": style, "label": label})
        if style == "name_below":
            p.text(x, top + h + p.mm(2), label, f)
            p.out.text.append(label)
        if b.data.get("with_date"):
            dl = "Date:"
            p.text(x, top + h + p.mm(4) + (p.line_h(f) if style == "name_below" else 0), dl, p.font(0.8))
            p.out.text.append(dl)
    p.y += rows * (h + p.line_h(f) * 2 + p.mm(4))


DRAW = {
    "letterhead": _letterhead,
    "title": _title,
    "heading": _heading,
    "kv": _kv,
    "addresses": _addresses,
    "para": _para,
    "bullets": _bullets,
    "columns": _columns,
    "table": _table,
    "totals": _totals,
    "qr": _qr,
    "form": _form,
    "checks": _checks,
    "sign": _sign,
}


def _footer(p: Page) -> None:
    doc = p.doc
    if doc.page_count > 1 or p.r.random() < 0.25:
        s = T[doc.lang]["page"].format(i=doc.page_no, n=doc.page_count)
        f = p.font(0.8)
        x, anchor = p.r.choice([((p.x0 + p.x1) / 2, "ma"), (p.x1, "ra")])
        y = p.H - p.mm(p.st.margin_mm[3] * 0.6) - f.size
        p.text(x, y, s, f, fill=p.st.small_ink, anchor=anchor)
        p.out.text.append(s)


def layout(doc: Doc, dpi: int, r: random.Random) -> Laid:
    """Draw ``doc`` at ``dpi``; returns the image and what the ground truth needs to know."""
    st = pick_style(r, doc)
    light_print(r, st)
    scale = 1.0
    for _attempt in range(3):
        twin = random.Random()
        twin.setstate(r.getstate())  # the probe makes the same choices the real pass will
        probe = Page(doc, st, dpi, twin, scale, dry=True)
        for b in doc.blocks:
            DRAW[b.kind](probe, b)
        if not probe.out.overflow and probe.y <= probe.ybot:
            break
        scale *= 0.85
    p = Page(doc, st, dpi, r, scale, dry=False)
    for b in doc.blocks:
        DRAW[b.kind](p, b)
    _footer(p)
    if doc.size == "receipt":  # thermal paper is cut where the printing ends
        end = min(p.H, p.y + p.mm(12))
        p.img = p.img.crop((0, 0, p.W, end))
        p.out.image = p.img
        p.H = end
    # free space below the content and in the side margins (for ink placed "elsewhere")
    if p.H - p.mm(8) - p.y > p.mm(20):
        p.out.free.append((p.x0, p.y, p.x1, p.H - p.mm(8)))
    if p.x0 > p.mm(15):
        p.out.free.append((p.mm(2), p.mm(20), p.x0 - p.mm(1), p.H - p.mm(20)))
    if p.W - p.x1 > p.mm(15):
        p.out.free.append((p.x1 + p.mm(1), p.mm(20), p.W - p.mm(2), p.H - p.mm(20)))
    return p.out
