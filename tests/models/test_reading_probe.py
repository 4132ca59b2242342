"""probe-reading writes per-page figures of real reads; probe-diff says which pages and fields moved."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from models.reading_probe import diff, probe_diff, probe_reading


def _row(index: int, errors: int, number_ok: bool, chars: int = 100) -> dict[str, object]:
    return {
        "index": index,
        "doc_type": "invoice",
        "lang": "en",
        "profile": "scan",
        "degradation": {"mode": "grey"},
        "errors": errors,
        "errors_strict": errors + 1,
        "chars": chars,
        "fields": {"number": {"truth": "INV-1", "read": "INV-1" if number_ok else None, "ok": number_ok}},
        "reader_errors": [],
        "seconds": 1.0,
    }


def test_given_two_probes_when_diffed_then_moved_pages_most_first_and_flipped_fields_are_listed() -> None:
    before = [_row(0, 10, True), _row(1, 50, False), _row(2, 5, True), _row(9, 1, True)]
    after = [_row(0, 10, True), _row(1, 20, True), _row(2, 8, False)]
    lines = diff(before, after)
    assert lines[0] == "1 page(s) in only one file: not compared"
    assert lines[1] == "3 pages compared, 2 moved: 30 errors fewer, 3 more (net -27 of 300 characters)"
    assert lines[2].split()[:2] == ["page", "1"] and "(-30)" in lines[2]
    assert lines[3].split()[:2] == ["page", "2"] and "(+3)" in lines[3]
    assert "fields flipped: 2" in lines
    assert any("page     1 number       fixed: None -> 'INV-1'" in ln for ln in lines)
    assert any("page     2 number       broken: 'INV-1' -> None" in ln for ln in lines)
    assert lines[-2].startswith("before: 3 pages: order-free CER 21.67%")
    assert lines[-1].startswith("after:  3 pages: order-free CER 12.67%")


def test_given_val_pages_when_probed_then_each_page_has_its_errors_and_fields_against_the_truth(
    tmp_path: Path,
) -> None:
    out = tmp_path / "probe.json"
    res = CliRunner().invoke(
        probe_reading, ["--split", "val", "--pages", "2", "--profile", "scan", "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    rows = json.loads(out.read_text())
    assert [r["index"] for r in rows] == [0, 1]
    for r in rows:
        assert r["profile"] == "scan" and r["chars"] > 100
        assert 0 <= r["errors"] <= r["chars"] * 2
    # the first validation page is an invoice: its number, date and total are scored
    assert {"number", "date", "total"} <= rows[0]["fields"].keys()
    assert all({"truth", "read", "ok"} <= set(f) for f in rows[0]["fields"].values())
    assert rows[0]["fields"]["date"]["printed"] is True  # an invoice prints its date
    assert rows[0]["page"] == [1, 1]
    assert res.output.startswith("2 pages: order-free CER")
    only = tmp_path / "receipts.json"
    res = CliRunner().invoke(
        probe_reading, ["--split", "val", "--pages", "2", "--type", "receipt", "--out", str(only)]
    )
    assert res.exit_code == 0, res.output
    assert [(r["index"], r["doc_type"]) for r in json.loads(only.read_text())] == [(1, "receipt")]
    same = CliRunner().invoke(probe_diff, [str(out), str(out)])
    assert same.exit_code == 0 and "2 pages compared, 0 moved" in same.output


def test_given_a_date_not_printed_on_its_page_when_summarised_then_it_is_counted_apart() -> None:
    from models.reading_probe import _field_rows, summary

    later_page = _field_rows({"date": "2020-11-11"}, {}, "Article 5 - Terms\nPage 2 of 3")
    first_page = _field_rows({"date": "2020-11-11"}, {}, "Lease\nSigned on 11/11/2020")
    assert later_page["date"]["printed"] is False and first_page["date"]["printed"] is True
    rows = [_row(0, 1, True) | {"fields": later_page}, _row(1, 1, True) | {"fields": first_page}]
    assert "  field date            0/1    (1 more not printed on their page)" in summary(rows)


def test_given_a_file_that_is_not_a_probe_when_diffed_then_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"not": "rows"}')
    res = CliRunner().invoke(probe_diff, [str(bad), str(bad)])
    assert res.exit_code == 1
    assert "not a probe-reading file" in res.output and "Traceback" not in res.output


def test_given_parties_when_scored_then_each_is_the_reader_key_of_its_role_on_that_type() -> None:
    from edge.contract import FieldValue
    from models.reading_probe import _field_rows

    parties = {
        "parties": [
            {"role": "issuer", "name": "Lucas, Kennedy and Cruz"},
            {"role": "recipient", "name": "Sarah Finley"},
        ]
    }
    read = {
        "buyer": FieldValue(value="LUCAS, KENNEDY AND CRUZ", confidence=0.6),
        "seller": FieldValue(value="Ship to", confidence=0.5),
    }
    po = _field_rows(parties, read, "", "purchase_order")  # a purchase order is issued by its buyer
    assert po["buyer"]["ok"] and not po["seller"]["ok"]
    inv = _field_rows(parties, read, "", "invoice")  # an invoice by its seller
    assert not inv["seller"]["ok"] and not inv["buyer"]["ok"]


def test_given_line_items_when_scored_then_printed_rows_exact_and_extra_rows_are_counted() -> None:
    from edge.contract import LineItem
    from models.reading_probe import _item_row, summary

    truth = [
        {"description": "Desk lamp", "quantity": "5", "unit_price": "224.42", "amount": "1122.10"},
        {"description": "Catering", "quantity": "1", "unit_price": "1067.88", "amount": "1067.88"},
        {"description": "Course fees", "quantity": "1", "unit_price": "90.00", "amount": "90.00"},
    ]
    # the third item is named in the page's prose only, not in a table row: not scored
    text = "Description Qty Unit price Amount\nDesk lamp 5 224.42 1,122.10\nCatering 1 1,067.88 1,067.88\n"
    text += "Received the sum of 90.00 for Course fees\n"
    read = [
        LineItem(description="Desk lamp", quantity=5, unit_price=224.42, amount=1122.10),
        LineItem(description="Catering", quantity=1, unit_price=1067.88, amount=1067.80),  # a misread cent
        LineItem(description="SIRET 866", quantity=866, unit_price=665359, amount=83),  # not a row
    ]
    row = _item_row(truth, read, text)
    assert row == {"truth": 2, "read": 3, "exact": 1}
    # a true row is matched once: the same row read twice is one exact and one extra
    assert _item_row(truth[:1], read[:1] * 2, text) == {"truth": 1, "read": 2, "exact": 1}
    lines = summary(
        [_row(0, 1, True) | {"items": row, "failed_checks": ["line_items_sum", "line_items_sum"]}]
    )
    assert (
        "  line items      1/2    rows exact, 2 read rows wrong or extra; 0/1 pages with every row"
        in "\n".join(lines)
    )
    assert "  checks failed (pages): line_items_sum 1" in lines
