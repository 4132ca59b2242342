"""The reading report says when a figure rests on no pages instead of printing a PASS."""

from __future__ import annotations

from models.reading_report import _field_lines


def test_given_no_money_page_when_field_lines_then_each_field_says_so_not_pass() -> None:
    lines = _field_lines([], 0)
    assert len(lines) == 3
    assert all("no scan money document" in ln and "PASS" not in ln for ln in lines)
