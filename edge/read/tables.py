"""Line items read from table rows: description, then quantity, unit price and amount.

Printed French amounts group thousands with spaces (``1 234,50``), so ``2 1 234,50 2 469,00`` is
ambiguous token by token. Rather than guess, the numeric tail of a row is split every way that
forms valid numbers and the split where quantity × unit price = amount wins; rows without such a
split keep their numbers but get a lower confidence (and a failed arithmetic check upstream).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

_NUM_TOKEN = re.compile(r"^[-(]?[€$£]?\d[\d.,']*[€$£)]?$")
_SPECK_TOKEN = re.compile(r"^[-\u2013\u2014.,:;_~'\"\u2018\u2019\u201c\u201d]+$")
_CUR_TOKEN = re.compile(r"^(?:€|\$|£|EUR|USD|GBP|CHF|Rs\.?|RM)$", re.I)
_NUMBER_GROUP = re.compile(r"^-?\d{1,3}(?:[ ,.']\d{3})*(?:[.,]\d{1,2})?$|^-?\d+(?:[.,]\d{1,2})?$")


@dataclass
class Row:
    description: str
    numbers: list[Decimal]
    quantity: Decimal | None
    unit_price: Decimal | None
    amount: Decimal | None
    consistent: bool  # quantity × unit price == amount (to the cent)
    token_count: int  # how many trailing tokens were numbers (for word mapping)
    inferred: str | None = None  # "quantity" or "unit price": not read, worked out from the others
    mended: str | None = None  # "amount" or "unit price": read without its decimal comma, mended


def to_decimal(text: str) -> Decimal | None:
    """One printed number (``1 234,50``, ``1,234.50``, ``12``) as a Decimal, or None."""
    s = text.strip().strip("€$£()").replace("\u00a0", " ").replace("\u202f", " ")
    neg = s.startswith("-")
    s = s.lstrip("-")
    if s[-1:] in (".", ",") and s[-2:-1].isdigit():
        s = s[:-1]  # a speck read after the figure ("2." for a quantity of 2)
    if not _NUMBER_GROUP.match(s):
        return None
    m = re.match(r"^(.*?)(?:([.,])(\d{1,2}))?$", s)
    assert m is not None
    whole, _, frac = m.groups()
    digits = re.sub(r"[ ,.']", "", whole)
    if not digits.isdigit():
        return None
    try:
        v = Decimal(digits + ("." + frac if frac else ""))
    except InvalidOperation:
        return None
    return -v if neg else v


def _groupings(tokens: list[str], parts: int) -> list[list[Decimal]]:
    """Every way to read ``tokens`` (in order) as exactly ``parts`` numbers."""
    out = []
    n = len(tokens)
    for cuts in itertools.combinations(range(1, n), parts - 1):
        bounds = [0, *cuts, n]
        values = []
        for a, b in itertools.pairwise(bounds):
            v = to_decimal(" ".join(tokens[a:b]))
            if v is None:
                break
            values.append(v)
        if len(values) == parts:
            out.append(values)
    return out


MAX_INFERRED_QTY = Decimal(1000)


def _two_of_three(desc_tokens: list[str], tail: list[str]) -> Row | None:
    """A priced row of which OCR lost one figure (a quantity column printed far from the rest,
    a faint cell): two numbers, the last the amount. The first is the unit price where it is
    printed with cents and the amount divided by it is a whole or half quantity, the quantity
    where it is a whole or half number that divides the amount to the cent. The missing figure
    is worked out and named in ``inferred``; a row that fits neither reading, or whose amount
    is printed without cents (its decimal comma may be lost: "2756" for 27,56), is not one."""
    for start in range(len(tail) - 1):
        toks = tail[start:]
        for first, amount in _groupings(toks, 2):
            if first <= 0 or amount <= 0 or amount.as_tuple().exponent != -2:
                continue  # an amount printed without cents may have lost its decimal comma
            desc = " ".join(desc_tokens + tail[:start])
            ratio = amount / first
            if first.as_tuple().exponent == -2:  # printed with cents, as prices are: the unit price
                if (ratio * 2) == (ratio * 2).to_integral_value() and ratio <= MAX_INFERRED_QTY:
                    return Row(
                        desc, [first, amount], ratio.normalize(), first, amount, True, len(toks), "quantity"
                    )
            elif (first * 2) == (first * 2).to_integral_value() and ratio == ratio.quantize(Decimal("0.01")):
                return Row(desc, [first, amount], first, ratio, amount, True, len(toks), "unit price")
    return None


def _lost_comma(desc_tokens: list[str], tail: list[str]) -> Row | None:
    """A priced row whose unit price or amount OCR read without its decimal comma ("5 790.27
    395135" for 3 951,35): a figure of three digits or more printed without cents that, read
    as cents, makes quantity × unit price = amount. Named in ``mended``."""
    for start in range(len(tail) - 2):
        toks = tail[start:]
        for vals in _groupings(toks, 3):
            for j, name in ((2, "amount"), (1, "unit price")):
                if vals[j].as_tuple().exponent != 0 or vals[j] < 100 or vals[0] <= 0:
                    continue
                fixed = [*vals[:j], vals[j] / 100, *vals[j + 1 :]]
                qty, unit, amount = fixed
                if abs(qty * unit - amount) <= Decimal("0.011"):
                    desc = " ".join(desc_tokens + tail[:start])
                    return Row(desc, fixed, qty, unit, amount, True, len(toks), mended=name)
    return None


def _cell(token: str) -> str:
    """A token without the stray grid marks glued to it ("277,58]", "|10", "10!")."""
    token = token.strip("|[]{}")
    if token.endswith("!") and _NUM_TOKEN.match(token[:-1]):
        token = token[:-1]  # a cell's rule read as "!" after its figure
    return token


def parse_row(text: str, with_unit: bool = True, quantities: bool = False) -> Row | None:
    """Read a table row ``description qty [unit] amount``; None when the line is not one.
    ``quantities``: a row of a table of quantities only (a delivery note's), where a lone
    figure, a whole or half number above zero, is the row's quantity."""
    tokens = [_cell(t) for t in text.split()]
    tokens = [t for t in tokens if t and not _CUR_TOKEN.match(t) and not t.endswith("%")]
    tail: list[str] = []
    used = 0  # trailing tokens taken: the figures and the specks between them
    for k in range(len(tokens) - 1, -1, -1):
        tok = tokens[k]
        if _NUM_TOKEN.match(tok) and len(tail) < 8:
            tail.insert(0, tok)
            used = len(tokens) - k
        elif tail and _SPECK_TOKEN.match(tok) and k and _NUM_TOKEN.match(tokens[k - 1]):
            continue  # a leader or a speck OCR read between two figures ("20 - 531,40")
        else:
            break
    desc_tokens = tokens[: len(tokens) - used]
    if not tail or not desc_tokens or not re.search(r"[A-Za-zÀ-ÿ]{2,}", " ".join(desc_tokens)):
        return None
    parts = 3 if with_unit else 2
    best: Row | None = None
    # Try the longest numeric tails first: a description rarely ends in a bare number.
    for start in range(len(tail)):
        toks = tail[start:]
        if len(toks) < parts:
            break
        for vals in _groupings(toks, parts):
            qty, unit, amount = (vals[0], vals[1], vals[2]) if with_unit else (vals[0], None, vals[1])
            ok = unit is not None and qty > 0 and abs(qty * unit - amount) <= Decimal("0.011")
            if ok:
                desc = " ".join(desc_tokens + tail[:start])
                return Row(desc, vals, qty, unit, amount, True, len(toks))
            if best is None:
                desc = " ".join(desc_tokens + tail[:start])
                best = Row(desc, vals, qty, unit, amount, not with_unit, len(toks))
    if with_unit and len(tail) >= 3:
        mended = _lost_comma(desc_tokens, tail)
        if mended is not None:
            return mended
    if with_unit and len(tail) >= 2:
        # No reading of the tail as three figures adds up: OCR may have lost one of them.
        inferred = _two_of_three(desc_tokens, tail)
        if inferred is not None:
            return inferred
    if best is None and len(tail) >= 1:
        v = to_decimal(tail[-1])
        if v is not None and len(tail) == 1 and re.search(r"[.,]\d{2}$", tail[-1]):
            return Row(" ".join(desc_tokens + tail[:-1]), [v], None, None, v, False, 1)
        if quantities and v is not None and len(tail) == 1 and v > 0 and (2 * v) % 1 == 0:
            return Row(" ".join(desc_tokens), [v], v, None, None, True, 1)
    return best
