"""Reading order of an OCR page: tables read row by row, side-by-side blocks left to right.

Tesseract's page segmentation finds columns well but orders them as newspaper columns: a
line-items table printed as a description column and a column of numbers comes out as every
description, then every number; a "Ship to" block beside "Bill to" comes out after everything
below "Bill to". People read a table row by row and a pair of address blocks one block at a time,
and the field extractors and the classifier see the text in that order too.

Two steps, on the geometry of the lines Tesseract returns:

1. **Tables.** Lines are grouped into printed rows (bands) by vertical overlap. A band is
   tabular when it has a text segment followed, further right, by a segment of numbers only
   (quantities, prices, amounts, dates). Consecutive tabular bands, with the header band just
   above them when its cells sit over the table's columns, become one block whose lines are the
   rows, each read left to right.
2. **Blocks.** The remaining Tesseract blocks (split where a table took lines out of their
   middle) and the tables are ordered by two rules, after the topological reading order of
   Breuel (2003): a unit comes before another it overlaps horizontally and lies above; a unit
   comes before another entirely to its right that it starts above the bottom of. Ties and the
   rare cycle fall back to top-to-bottom, then left-to-right.

A pair of address blocks side by side has no column of numbers, so it keeps being read one block
after the other; a two-column body text likewise.
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass, field

from edge.read.ocr import Line, OcrPage, Word

# A cell of numbers: amounts, quantities, percentages, dates, with currency signs or codes and
# the stray grid marks Tesseract reads at cell borders.
_NUMERIC_TOKEN = re.compile(r"^[|\[\](){}]*[-+]?[€$£]?\d[\d.,/:'%-]*[€$£%]?[|\[\](){}.,:;]*$")
_CURRENCY_TOKEN = re.compile(r"^(?:[€$£|%]|EUR|USD|GBP|CHF|CAD|AUD|JPY|Rs\.?|RM|TTC|HT)$", re.I)
_LETTERS = re.compile(r"[A-Za-zÀ-ÿ]{2,}")

Box = tuple[float, float, float, float]


def _union(boxes: list[Box]) -> Box:
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def numeric_text(text: str) -> bool:
    """True when every token of ``text`` is a number or a currency mark, with at least one number."""
    tokens = [t for t in text.split() if t.strip("|[](){}")]
    if not tokens:
        return False
    if not all(_NUMERIC_TOKEN.match(t) or _CURRENCY_TOKEN.match(t) for t in tokens):
        return False
    return any(_NUMERIC_TOKEN.match(t) for t in tokens)


@dataclass
class _Band:
    lines: list[int]  # indices into page.lines, left to right
    box: Box


@dataclass
class _Unit:
    lines: list[int]  # indices into page.lines, in reading order
    box: Box
    merged_rows: list[list[int]] | None = field(default=None)  # tables: the lines of each row


def _bands(page: OcrPage) -> list[_Band]:
    """Lines grouped into printed rows: a line joins the row it overlaps by half its height."""
    order = sorted(
        (i for i, ln in enumerate(page.lines) if ln.box[3] > ln.box[1]),
        key=lambda i: (page.lines[i].box[1] + page.lines[i].box[3]) / 2,
    )
    bands: list[_Band] = []
    for i in order:
        b = page.lines[i].box
        h = b[3] - b[1]
        target = None
        for band in reversed(bands[-3:]):
            bb = band.box
            overlap = min(bb[3], b[3]) - max(bb[1], b[1])
            if overlap >= 0.5 * min(h, bb[3] - bb[1]):
                target = band
                break
        if target is None:
            bands.append(_Band([i], b))
        else:
            target.lines.append(i)
            target.box = _union([target.box, b])
    for band in bands:
        band.lines.sort(key=lambda i: page.lines[i].box[0])
    return bands


def _tabular(page: OcrPage, band: _Band) -> bool:
    """A text cell with a cell of numbers printed further right on the same row."""
    if len(band.lines) < 2:
        return False
    seen_text = False
    for i in band.lines:
        text = page.lines[i].text
        if numeric_text(text):
            if seen_text:
                return True
        elif _LETTERS.search(text):
            seen_text = True
    return False


def _overlap_x(a: Box, b: Box) -> float:
    return min(a[2], b[2]) - max(a[0], b[0])


def _header_over(page: OcrPage, band: _Band, table: list[_Band], gap_limit: float) -> bool:
    """Whether ``band`` is the header row of ``table`` (just above it, cells over its cells)."""
    if len(band.lines) < 2 or table[0].box[1] - band.box[3] > gap_limit:
        return False
    cells = [page.lines[i].box for t in table for i in t.lines]
    for i in band.lines:
        ln = page.lines[i]
        if numeric_text(ln.text):
            return False
        w = ln.box[2] - ln.box[0]
        if w <= 0 or max(_overlap_x(ln.box, c) for c in cells) < 0.5 * w:
            return False
    return True


def _tables(page: OcrPage) -> list[list[_Band]]:
    bands = _bands(page)
    heights = [ln.box[3] - ln.box[1] for ln in page.lines if ln.box[3] > ln.box[1]]
    line_h = statistics.median(heights) if heights else 0.0
    tables: list[list[_Band]] = []
    run: list[_Band] = []
    for band in bands:
        close = not run or band.box[1] - run[-1].box[3] <= 2.5 * line_h
        if _tabular(page, band) and close:
            run.append(band)
            continue
        if run:
            tables.append(run)
        run = [band] if _tabular(page, band) else []
    if run:
        tables.append(run)
    # the header row just above each table
    out = []
    for table in tables:
        k = bands.index(table[0])
        if k > 0 and _header_over(page, bands[k - 1], table, 2.0 * line_h):
            table = [bands[k - 1], *table]
        out.append(table)
    return out


def _units(page: OcrPage) -> list[_Unit]:
    tables = _tables(page)
    in_table: set[int] = {i for t in tables for band in t for i in band.lines}
    units: list[_Unit] = []
    for table in tables:
        rows = [list(band.lines) for band in table]
        units.append(
            _Unit(
                lines=[i for r in rows for i in r],
                box=_union([band.box for band in table]),
                merged_rows=rows,
            )
        )
    for block in page.blocks:
        run: list[int] = []
        for i in [*block, -1]:
            if i >= 0 and i not in in_table:
                run.append(i)
                continue
            if run:  # a block a table took lines from splits there
                boxes = [page.lines[j].box for j in run]
                units.append(_Unit(lines=run, box=_union(boxes)))
                run = []
    return units


def _before(a: _Unit, b: _Unit, tol: float) -> bool:
    """``a`` is read before ``b`` (see the module docstring)."""
    ax1, ay1, ax2, ay2 = a.box
    bx1, by1, bx2, by2 = b.box
    if min(ax2, bx2) - max(ax1, bx1) > tol:  # one above the other
        return (ay1 + ay2) / 2 < (by1 + by2) / 2
    return ax2 <= bx1 + tol and ay1 < by2


def _ordered(units: list[_Unit], tol: float) -> list[_Unit]:
    n = len(units)
    preds = [{j for j in range(n) if j != i and _before(units[j], units[i], tol)} for i in range(n)]
    done: list[int] = []
    left = set(range(n))

    def key(i: int) -> tuple[float, float]:
        return (units[i].box[1], units[i].box[0])

    while left:
        ready = [i for i in left if not (preds[i] & left)]
        pick = min(ready or left, key=key)  # a cycle: the topmost unit breaks it
        done.append(pick)
        left.discard(pick)
    return [units[i] for i in done]


def reading_order(page: OcrPage) -> OcrPage:
    """``page`` with its blocks, lines and words in reading order (words renumbered).

    Table rows become single lines (their cells joined left to right); other lines keep their
    words. Pages without boxes (``page_from_text``) are returned unchanged.
    """
    if len(page.lines) < 2 or not any(ln.box[3] > ln.box[1] for ln in page.lines):
        return page
    heights = [ln.box[3] - ln.box[1] for ln in page.lines if ln.box[3] > ln.box[1]]
    tol = 0.5 * statistics.median(heights)
    units = _ordered(_units(page), tol)
    out = OcrPage()
    for unit in units:
        rows = unit.merged_rows or [[i] for i in unit.lines]
        block: list[int] = []
        for row in rows:
            word_ids: list[int] = []
            for li in row:
                for wi in page.lines[li].words:
                    w = page.words[wi]
                    word_ids.append(len(out.words))
                    out.words.append(
                        Word(w.text, w.conf, w.box, w.block, w.par, w.line, index=len(out.words))
                    )
            if not word_ids:
                continue
            block.append(len(out.lines))
            out.lines.append(
                Line(
                    words=word_ids,
                    text=" ".join(out.words[i].text for i in word_ids),
                    block=len(out.blocks) + 1,
                    box=_union([page.lines[li].box for li in row]),
                )
            )
        if block:
            out.blocks.append(block)
    return out
