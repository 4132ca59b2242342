"""Reading order of an OCR page: tables read row by row, columns one after the other.

Tesseract's page segmentation orders what it finds as newspaper columns: a line-items table
printed as a description column and a column of numbers comes out as every description, then
every number; a "Ship to" block beside "Bill to" comes out after everything below "Bill to".
Where two columns of body text sit close together it does the opposite and reads each printed
row straight across both. People read a table row by row and columns one at a time, and the
field extractors and the classifier see the text in that order too.

Three steps, on the geometry of the lines Tesseract returns:

1. **Tables.** Lines are grouped into printed rows (bands) by vertical overlap. A band is
   tabular when it has a text cell followed, further right, by a cell of numbers only
   (quantities, prices, amounts, dates). Consecutive tabular bands, with the header band just
   above them when its cells sit over the table's cells, become one block whose lines are the
   rows, each read left to right.
2. **Columns read across.** A run of consecutive lines, each cut by a wide gap at the same
   place (a gutter), with lines on one side of it allowed in between, is split at the gutter:
   the left column is read first, then the right one.
3. **Blocks.** The remaining Tesseract blocks (split where a table or a column run took lines
   out of their middle), the tables and the column runs are put in a topological order, as in
   Breuel's (2003) reading order for text lines, by two rules: a unit comes before another it
   overlaps horizontally and lies above; a unit comes before another entirely to its right
   that it starts above the bottom of. Ties and the rare cycle fall back to top-to-bottom,
   then left-to-right.

A pair of address blocks side by side has no column of numbers, so it is read one block after
the other, as is a two-column body text Tesseract has already split.
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass, replace

import numpy as np

from edge.read.ocr import Line, OcrPage, union_box

# A cell of numbers: amounts, quantities, percentages, dates, with currency signs or codes and
# the stray grid marks Tesseract reads at cell borders.
_NUMERIC_TOKEN = re.compile(r"^[|\[\](){}]*[-+]?[€$£]?\d[\d.,/:'%-]*[€$£%]?[|\[\](){}.,:;]*$")
_CURRENCY_TOKEN = re.compile(r"^(?:[€$£|%]|EUR|USD|GBP|CHF|CAD|AUD|JPY|Rs\.?|RM|TTC|HT)$", re.I)
_LETTERS = re.compile(r"[A-Za-zÀ-ÿ]{2,}")

# A gap between two words of one Tesseract line at least this many line heights wide is a
# gutter between columns (word spaces are under half a line height).
GUTTER_LINE_HEIGHTS = 1.5
# Lines of one column run follow each other at most this many line heights apart (a heading or
# a new paragraph after the columns is further down).
RUN_GAP_LINE_HEIGHTS = 1.0

# A line taller than this many median line heights is not a printed row.
TALL_LINE_HEIGHTS = 2.5
# A lone tabular row's text cells separated by more than this share of the page width are two
# blocks side by side, not one row (see ``_own_row``).
SIDE_BY_SIDE_GAP = 0.1

Box = tuple[float, float, float, float]


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
    rows: list[list[int]]  # word indices of each output line, in reading order
    box: Box


class _Layout:
    def __init__(self, page: OcrPage) -> None:
        self.page = page
        heights = [ln.box[3] - ln.box[1] for ln in page.lines if ln.box[3] > ln.box[1]]
        self.line_h = statistics.median(heights) if heights else 0.0
        w, h = page.size
        self.aspect = h / w if w > 0 and h > 0 else 0.0  # x units per y unit
        self.taken: set[int] = set()  # lines a table or a column run took
        self.bands = self._bands()

    # -- rows ----------------------------------------------------------------------------
    def _bands(self) -> list[_Band]:
        """Lines grouped into printed rows: a line joins the row it overlaps by half its height."""
        lines = self.page.lines
        # A "line" several lines tall is a column Tesseract read downwards (a stamp, a
        # signature, a column of digits read as one word): it belongs to no printed row.
        tall = TALL_LINE_HEIGHTS * self.line_h
        order = sorted(
            (i for i, ln in enumerate(lines) if 0 < ln.box[3] - ln.box[1] <= tall),
            key=lambda i: (lines[i].box[1] + lines[i].box[3]) / 2,
        )
        bands: list[_Band] = []
        for i in order:
            b = lines[i].box
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
                target.box = union_box([target.box, b])
        for band in bands:
            band.lines.sort(key=lambda i: lines[i].box[0])
        return bands

    def _words(self, line: int) -> list[int]:
        return list(self.page.lines[line].words)

    # -- tables --------------------------------------------------------------------------
    def _tabular(self, band: _Band) -> bool:
        """A text cell with a cell of numbers printed further right on the same row."""
        if len(band.lines) < 2:
            return False
        seen_text = False
        for i in band.lines:
            text = self.page.lines[i].text
            if numeric_text(text):
                if seen_text:
                    return True
            elif _LETTERS.search(text):
                seen_text = True
        return False

    def _own_row(self, band: _Band) -> _Band:
        """A lone "label ... amount" row without the text cells printed left of it across a
        wide gap: those belong to a column beside it ("ATTN: iViveLabs Limited" left of "TOTAL
        AMOUNT DUE ON August 3 , 2014 $4.11"), read with their own block."""
        lines = self.page.lines
        keep = 0
        for a, b in zip(band.lines, band.lines[1:], strict=False):
            if numeric_text(lines[a].text) or numeric_text(lines[b].text):
                break
            if lines[b].box[0] - lines[a].box[2] > SIDE_BY_SIDE_GAP:
                keep = band.lines.index(b)
        if not keep:
            return band
        rest = band.lines[keep:]
        return _Band(rest, union_box([lines[i].box for i in rest]))

    def _header_over(self, band: _Band, table: list[_Band]) -> bool:
        """Whether ``band`` is the header row of ``table`` (just above it, cells over its cells)."""
        if len(band.lines) < 2 or table[0].box[1] - band.box[3] > 2.0 * self.line_h:
            return False
        cells = [self.page.lines[i].box for t in table for i in t.lines]
        for i in band.lines:
            ln = self.page.lines[i]
            if numeric_text(ln.text):
                return False
            w = ln.box[2] - ln.box[0]
            if w <= 0 or max(_overlap_x(ln.box, c) for c in cells) < 0.5 * w:
                return False
        return True

    def tables(self) -> list[_Unit]:
        runs: list[list[_Band]] = []
        run: list[_Band] = []
        for band in self.bands:
            tabular = self._tabular(band)
            if tabular and (not run or band.box[1] - run[-1].box[3] <= 2.5 * self.line_h):
                run.append(band)
                continue
            if run:
                runs.append(run)
            run = [band] if tabular else []
        if run:
            runs.append(run)
        tables = []
        for table in runs:
            k = self.bands.index(table[0])
            if k > 0 and self._header_over(self.bands[k - 1], table):
                table = [self.bands[k - 1], *table]
            elif len(table) == 1:
                table = [self._own_row(table[0])]
            tables.append(table)
        # A header row over rows Tesseract already read straight across ("Description" and
        # "Hours Rate Amount" above "Base salary 160 12.65 2,024.00").
        used = {id(band) for t in tables for band in t}
        for band, below in zip(self.bands, self.bands[1:], strict=False):
            if id(band) in used or len(below.lines) != 1:
                continue
            row = self.page.lines[below.lines[0]].text
            if any(_NUMERIC_TOKEN.match(t) for t in row.split()) and self._header_over(band, [below]):
                tables.append([band])
        units = []
        for table in tables:
            rows = [[w for i in band.lines for w in self._words(i)] for band in table]
            self.taken.update(i for band in table for i in band.lines)
            units.append(_Unit(rows, union_box([band.box for band in table])))
        return units

    # -- columns read across -------------------------------------------------------------
    def _split(self, line: int) -> tuple[list[int], list[int]] | None:
        """The words left and right of the one gutter-wide gap in ``line``, if it has exactly one."""
        ln = self.page.lines[line]
        if not self.aspect:
            return None
        min_gap = GUTTER_LINE_HEIGHTS * (ln.box[3] - ln.box[1]) * self.aspect
        ws = ln.words
        cuts = [
            k
            for k in range(1, len(ws))
            if self.page.words[ws[k]].box[0] - self.page.words[ws[k - 1]].box[2] >= min_gap
        ]
        if len(cuts) != 1:
            return None
        left, right = list(ws[: cuts[0]]), list(ws[cuts[0] :])
        # Body text on both sides, not a label and its value ("Due date:   06/30/2020") nor a
        # total ("Subtotal   $49,074.02"): those rows are read straight across.
        lt = [self.page.words[i].text for i in left]
        rt = " ".join(self.page.words[i].text for i in right)
        if lt[-1].endswith(":") or numeric_text(rt) or not _LETTERS.search(rt):
            return None
        return left, right

    def _box(self, words: list[int]) -> Box:
        return union_box([self.page.words[i].box for i in words])

    def columns(self) -> list[_Unit]:
        units: list[_Unit] = []
        left: list[list[int]] = []
        right: list[list[int]] = []
        split_rows = 0
        gutter = (0.0, 0.0)
        last: Box | None = None
        members: list[int] = []
        short = False

        def close() -> None:
            nonlocal left, right, split_rows, last, members, short
            # Two rows cut at one gutter make columns; one row needs a line of a column below
            # it and a few words on its left (a lone "Supplier   Client" is a row of labels).
            if split_rows >= 2 or (split_rows and len(members) >= 2 and not short):
                rows = left + right
                units.append(_Unit(rows, union_box([self._box(r) for r in rows])))
                self.taken.update(members)
            left, right, split_rows, last, members, short = [], [], 0, None, [], False

        for band in self.bands:
            if len(band.lines) != 1 or band.lines[0] in self.taken:
                close()
                continue
            li = band.lines[0]
            box = self.page.lines[li].box
            near = last is not None and box[1] - last[3] <= RUN_GAP_LINE_HEIGHTS * min(
                box[3] - box[1], last[3] - last[1]
            )
            halves = self._split(li)
            if halves is not None:
                g = (self._box(halves[0])[2], self._box(halves[1])[0])
                if near and min(g[1], gutter[1]) > max(g[0], gutter[0]):
                    gutter = (max(g[0], gutter[0]), min(g[1], gutter[1]))
                else:
                    close()
                    gutter = g
                left.append(halves[0])
                right.append(halves[1])
                split_rows += 1
                short = short or len(halves[0]) < 3
            elif near and box[2] < gutter[1]:  # a line of the left column alone
                gutter = (max(gutter[0], box[2]), gutter[1])
                left.append(self._words(li))
            elif near and box[0] > gutter[0]:  # a line of the right column alone
                gutter = (gutter[0], min(gutter[1], box[0]))
                right.append(self._words(li))
            else:
                close()
                continue
            members.append(li)
            last = box
        close()
        return units

    # -- blocks --------------------------------------------------------------------------
    def blocks(self) -> list[_Unit]:
        units = []
        for block in self.page.blocks:
            run: list[int] = []
            for i in [*block, -1]:
                if i >= 0 and i not in self.taken:
                    run.append(i)
                    continue
                if run:  # a block a table or a column run took lines from splits there
                    rows = [self._words(j) for j in run]
                    units.append(_Unit(rows, union_box([self.page.lines[j].box for j in run])))
                    run = []
        return units


def _overlap_x(a: Box, b: Box) -> float:
    return min(a[2], b[2]) - max(a[0], b[0])


def _precedence(units: list[_Unit], tol: float) -> np.ndarray:
    """``before[a, b]``: unit ``a`` is read before unit ``b`` (see the module docstring).

    Rule 1: ``a`` overlaps ``b`` horizontally and lies above it. Rule 2: ``a`` is entirely left
    of ``b`` and starts above ``b``'s bottom. (Breuel's own rule 2 reads everything left of a
    gap first unless a line across the page separates it; business pages rarely have one, and
    their side-by-side blocks are meant to be read row of blocks by row of blocks.)
    """
    box = np.array([u.box for u in units], dtype=np.float64).reshape(-1, 4)
    x1, y1, x2, y2 = (box[:, k] for k in range(4))
    xover = np.minimum(x2[:, None], x2[None, :]) - np.maximum(x1[:, None], x1[None, :]) > tol
    centre = (y1 + y2) / 2
    rule1 = xover & (centre[:, None] < centre[None, :])
    rule2 = ~xover & (x2[:, None] <= x1[None, :] + tol) & (y1[:, None] < y2[None, :])
    before = rule1 | rule2
    np.fill_diagonal(before, False)
    return before


def _ordered(units: list[_Unit], tol: float) -> list[_Unit]:
    before = _precedence(units, tol)
    done: list[int] = []
    left = set(range(len(units)))

    def key(i: int) -> tuple[float, float]:
        return (units[i].box[1], units[i].box[0])

    while left:
        rest = sorted(left)
        blocked = np.asarray(before[np.ix_(rest, rest)].any(axis=0), dtype=bool).tolist()
        ready = [i for i, b in zip(rest, blocked, strict=True) if not b]
        pick = min(ready or rest, key=key)  # a cycle: the topmost unit breaks it
        done.append(pick)
        left.discard(pick)
    return [units[i] for i in done]


def reading_order(page: OcrPage) -> OcrPage:
    """``page`` with its blocks, lines and words in reading order (words renumbered).

    Table rows become single lines (their cells joined left to right), lines read across two
    columns are cut at the gutter; other lines keep their words. Pages without boxes
    (``page_from_text``) are returned unchanged.
    """
    if len(page.lines) < 2 or not any(ln.box[3] > ln.box[1] for ln in page.lines):
        return page
    layout = _Layout(page)
    units = layout.tables()
    units += layout.columns()
    units += layout.blocks()
    out = OcrPage(size=page.size)
    for unit in _ordered(units, 0.5 * layout.line_h):
        block: list[int] = []
        for row in unit.rows:
            ids = []
            for wi in row:
                w = page.words[wi]
                ids.append(len(out.words))
                out.words.append(replace(w, index=len(out.words)))
            if not ids:
                continue
            block.append(len(out.lines))
            out.lines.append(
                Line(
                    words=ids,
                    text=" ".join(out.words[i].text for i in ids),
                    block=len(out.blocks) + 1,
                    box=union_box([out.words[i].box for i in ids]),
                )
            )
        if block:
            out.blocks.append(block)
    return out
