"""Amounts, dates and their printed forms in English and French.

Amounts are ``Decimal`` throughout so that line items, subtotal, tax and total add up to the
cent on the page and in the ground truth (normalised as strings like ``"1234.50"``).
"""

from __future__ import annotations

import random
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")

MONTHS = {
    "en": [
        "January", "February", "March", "April", "May", "June",
        "July", "August", "September", "October", "November", "December",
    ],
    "fr": [
        "janvier", "février", "mars", "avril", "mai", "juin",
        "juillet", "août", "septembre", "octobre", "novembre", "décembre",
    ],
}  # fmt: skip

SYMBOL = {"USD": "$", "EUR": "€", "GBP": "£", "CHF": "CHF"}


def q(x: Decimal) -> Decimal:
    """Round half-up to the cent, as invoicing software does."""
    return x.quantize(CENT, rounding=ROUND_HALF_UP)


def norm(x: Decimal) -> str:
    """Normalised ground-truth form: plain decimal with two places, no grouping."""
    return f"{q(x):.2f}"


def _group(int_part: str, sep: str) -> str:
    out = []
    while len(int_part) > 3:
        out.insert(0, int_part[-3:])
        int_part = int_part[:-3]
    out.insert(0, int_part)
    return sep.join(out)


def fmt_amount(x: Decimal, lang: str, currency: str | None = None, rng: random.Random | None = None) -> str:
    """Printed form: ``$1,234.50`` / ``1 234,50 €``; currency omitted when None."""
    s = f"{q(x):.2f}"
    neg = s.startswith("-")
    s = s.lstrip("-")
    i, d = s.split(".")
    if lang == "fr":
        body = f"{_group(i, ' ')},{d}"
        out = f"{body} {SYMBOL.get(currency, currency)}" if currency else body
    else:
        body = f"{_group(i, ',')}.{d}"
        if currency is None:
            out = body
        elif currency in ("USD", "GBP") and (rng is None or rng.random() < 0.8):
            out = f"{SYMBOL[currency]}{body}"
        else:
            out = f"{body} {currency}"
    return "-" + out if neg else out


def fmt_date(d: date, lang: str, rng: random.Random, day_first: bool = False) -> str:
    """A printed date in one of the forms people use in that language. English pages are written
    the US way unless ``day_first`` (an English page from anywhere else: pounds, euros)."""
    r = rng.random()
    if lang == "en" and day_first:
        if r < 0.5:
            return d.strftime(rng.choice(["%d/%m/%Y", "%d/%m/%Y", "%d.%m.%Y", "%d-%m-%Y"]))
        if r < 0.85:
            return f"{d.day} {MONTHS['en'][d.month - 1]} {d.year}"
        return d.isoformat()
    if lang == "fr":
        if r < 0.55:
            return d.strftime("%d/%m/%Y")
        if r < 0.85:
            return f"{d.day} {MONTHS['fr'][d.month - 1]} {d.year}"
        return d.strftime("%d.%m.%Y")
    if r < 0.45:
        return d.strftime("%m/%d/%Y")
    if r < 0.8:
        return f"{MONTHS['en'][d.month - 1]} {d.day}, {d.year}"
    return d.isoformat()


def fmt_qty(qty: Decimal, lang: str) -> str:
    s = f"{qty.normalize():f}"
    return s.replace(".", ",") if lang == "fr" else s
