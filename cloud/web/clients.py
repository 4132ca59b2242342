"""Client analytics from invoice fields: per-client totals, RFM segments and a k-means view.

Grew out of the invoice project's client page. Input rows come from the documents typed
``invoice`` (see ``queries.invoice_rows``); everything here is pure computation so it can be
tested without a database. Amounts are summed per currency-less number: a fleet that mixes
currencies should filter by currency first (the page shows the currency column).
"""

from __future__ import annotations

import bisect
import logging
import math
from dataclasses import dataclass, field
from datetime import date

import numpy as np

log = logging.getLogger(__name__)

# Field names the reader may use for the buyer, the seller and the gross total, in preference order.
BUYER_KEYS = ("buyer", "buyer_name", "customer", "client", "bill_to")
SELLER_KEYS = ("seller", "seller_name", "vendor", "supplier", "issuer")
TOTAL_KEYS = ("total_gross", "gross_total", "total", "amount_due", "total_amount")
DATE_KEYS = ("date", "invoice_date", "issue_date")


@dataclass(frozen=True)
class InvoiceRow:
    """One invoice as the clients page needs it."""

    document_id: int
    client: str
    seller: str | None
    day: date
    total: float
    currency: str | None = None


@dataclass
class ClientSummary:
    """Totals and segment of one client (the buyer on its invoices)."""

    client: str
    invoices: int
    total: float
    last: date
    first: date
    currencies: list[str] = field(default_factory=list)
    sellers: list[str] = field(default_factory=list)
    recency_days: int = 0
    r: int = 0
    f: int = 0
    m: int = 0
    segment: str = ""
    cluster: int = -1


def pick(values: dict[str, object], keys: tuple[str, ...]) -> object | None:
    """The first non-empty value among ``keys`` (field names differ between document layouts)."""
    for k in keys:
        v = values.get(k)
        if v not in (None, ""):
            return v
    return None


def parse_amount(v: object) -> float | None:
    """A decimal amount as the reader normalises it ("1234.50"), or None when it is not a number."""
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, int | float):
        return float(v) if math.isfinite(v) else None
    try:
        x = float(str(v).replace(",", "").strip())
    except ValueError:
        return None
    return x if math.isfinite(x) else None


def summarise(rows: list[InvoiceRow], today: date) -> list[ClientSummary]:
    """Per-client totals from single invoices, then RFM scores, segments and clusters."""
    by: dict[str, ClientSummary] = {}
    for r in rows:
        s = by.get(r.client)
        if s is None:
            s = by[r.client] = ClientSummary(r.client, 0, 0.0, r.day, r.day)
        s.invoices += 1
        s.total += r.total
        s.last = max(s.last, r.day)
        s.first = min(s.first, r.day)
        if r.currency and r.currency not in s.currencies:
            s.currencies.append(r.currency)
        if r.seller and r.seller not in s.sellers and len(s.sellers) < 5:
            s.sellers.append(r.seller)
    return score(list(by.values()), today)


def score(clients: list[ClientSummary], today: date) -> list[ClientSummary]:
    """RFM scores (1-5 quintiles by rank), segments and k-means clusters; biggest spenders first."""
    out = sorted(clients, key=lambda s: -s.total)
    if not out:
        return out
    for s in out:
        s.recency_days = max(0, (today - s.last).days)
    # Low recency is good, so it is scored on the negated value.
    rs = _quintiles([-s.recency_days for s in out])
    fs = _quintiles([s.invoices for s in out])
    ms = _quintiles([s.total for s in out])
    for cs, rq, fq, mq in zip(out, rs, fs, ms, strict=True):
        cs.r, cs.f, cs.m = rq, fq, mq
        cs.segment = segment(rq, fq, mq)
    for cs, label in zip(out, kmeans_labels(out), strict=True):
        cs.cluster = label
    return out


def _quintiles(values: list[float]) -> list[int]:
    """Scores 1..5 by rank; ties share the lower score so equal clients score the same."""
    n = len(values)
    if n == 1:
        return [3]
    order = sorted(values)
    return [1 + min(4, int(5 * bisect.bisect_left(order, v) / n)) for v in values]


def segment(r: int, f: int, m: int) -> str:
    """A readable RFM segment name."""
    if r >= 4 and f >= 4:
        return "champions"
    # A good client who has stopped buying is at risk, whatever they bought before.
    if r <= 2 and f >= 3:
        return "at risk"
    if r <= 2:
        return "lapsed"
    if f >= 4 or (f >= 3 and m >= 4):
        return "loyal"
    if r >= 4 and f <= 2:
        return "new"
    return "regular"


def kmeans_labels(clients: list[ClientSummary], k: int = 4, seed: int = 0) -> list[int]:
    """k-means on standardised (recency, log frequency, log monetary); fewer clusters for few clients."""
    n = len(clients)
    if n < 3:
        return [0] * n
    from sklearn.cluster import KMeans
    from sklearn.preprocessing import StandardScaler

    x = np.array(
        [[c.recency_days, math.log1p(c.invoices), math.log1p(max(0.0, c.total))] for c in clients],
        dtype=float,
    )
    x = StandardScaler().fit_transform(x)
    k = max(1, min(k, n - 1, len({tuple(row) for row in x.round(6)})))
    labels = KMeans(n_clusters=k, n_init=5, random_state=seed).fit_predict(x)
    # Number clusters by mean spend so "cluster 0" is always the biggest spenders.
    means = {
        c: float(np.mean([cl.total for cl, lab in zip(clients, labels, strict=True) if lab == c]))
        for c in set(labels)
    }
    rank = {c: i for i, c in enumerate(sorted(means, key=lambda c: -means[c]))}
    return [rank[int(lab)] for lab in labels]


def scatter_points(
    clients: list[ClientSummary], width: int = 560, height: int = 320, pad: int = 40
) -> list[dict[str, object]]:
    """Positions for the k-means scatter (log frequency on x, log spend on y), drawn as server-side SVG."""
    if not clients:
        return []
    fx = [math.log1p(c.invoices) for c in clients]
    my = [math.log10(max(1.0, c.total)) for c in clients]
    x0, x1 = min(fx), max(fx)
    y0, y1 = min(my), max(my)
    pts = []
    for c, f, m in zip(clients, fx, my, strict=True):
        px = pad + (width - 2 * pad) * ((f - x0) / (x1 - x0) if x1 > x0 else 0.5)
        py = height - pad - (height - 2 * pad) * ((m - y0) / (y1 - y0) if y1 > y0 else 0.5)
        pts.append(
            {"x": round(px, 1), "y": round(py, 1), "cluster": c.cluster, "client": c.client, "total": c.total}
        )
    return pts
