"""Client analytics: totals, RFM scores and segments, k-means clusters."""

from __future__ import annotations

from datetime import date, timedelta

from cloud.web.clients import InvoiceRow, parse_amount, segment, summarise

TODAY = date(2026, 11, 22)


def rows() -> list[InvoiceRow]:
    out = []
    i = 0
    # A big recent spender, a frequent small buyer, a client gone quiet, and one-off buyers.
    for k in range(12):
        out.append(InvoiceRow(i := i + 1, "Big Co", "S", TODAY - timedelta(days=k * 3), 5000.0))
    for k in range(20):
        out.append(InvoiceRow(i := i + 1, "Corner Shop", "S", TODAY - timedelta(days=k * 2), 40.0))
    for k in range(8):
        out.append(InvoiceRow(i := i + 1, "Old Client", "S", TODAY - timedelta(days=200 + k * 5), 800.0))
    for n in range(6):
        out.append(InvoiceRow(i := i + 1, f"One-off {n}", "S", TODAY - timedelta(days=n * 40), 120.0 + n))
    return out


def test_given_invoices_when_summarised_then_totals_and_counts_are_per_client():
    s = {c.client: c for c in summarise(rows(), TODAY)}
    assert s["Big Co"].invoices == 12 and s["Big Co"].total == 60000.0
    assert s["Corner Shop"].invoices == 20 and s["Old Client"].recency_days == 200


def test_given_invoices_when_summarised_then_rfm_scores_rank_clients():
    s = {c.client: c for c in summarise(rows(), TODAY)}
    assert s["Big Co"].m == 5 and s["Big Co"].r >= 4
    assert s["Old Client"].r == 1
    assert s["Big Co"].segment == "champions"
    assert s["Old Client"].segment in ("at risk", "lapsed")


def test_given_invoices_when_clustered_then_cluster_zero_is_the_biggest_spenders():
    out = summarise(rows(), TODAY)
    assert len({c.cluster for c in out}) >= 2
    big = next(c for c in out if c.client == "Big Co")
    assert big.cluster == 0


def test_given_amount_strings_when_parsed_then_non_numbers_are_none():
    assert parse_amount("1,234.50") == 1234.5
    assert parse_amount("abc") is None and parse_amount(float("nan")) is None and parse_amount(True) is None


def test_given_scores_when_segmented_then_names_follow_rfm():
    assert (
        segment(5, 5, 5) == "champions"
        and segment(5, 1, 1) == "new"
        and segment(1, 4, 2) == "at risk"
        and segment(3, 4, 2) == "loyal"
    )
