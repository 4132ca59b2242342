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


def parse_row(text: str, with_unit: bool = True) -> Row | None:
    """Read a table row ``description qty [unit] amount``; None when the line is not one."""
    # Stray grid marks glued to cells ("277,58]", "|10") are not part of the values.
    tokens = [t.strip("|[]{}") for t in text.split()]
    tokens = [t for t in tokens if t and not _CUR_TOKEN.match(t) and not t.endswith("%")]
    tail: list[str] = []
    for tok in reversed(tokens):
        if _NUM_TOKEN.match(tok) and len(tail) < 8:
            tail.insert(0, tok)
        else:
            break
    desc_tokens = tokens[: len(tokens) - len(tail)]
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
    if best is None and len(tail) >= 1:
        v = to_decimal(tail[-1])
        if v is not None and len(tail) == 1 and re.search(r"[.,]\d{2}$", tail[-1]):
            return Row(" ".join(desc_tokens + tail[:-1]), [v], None, None, v, False, 1)
    return best
