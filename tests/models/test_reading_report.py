"""The reading report says when a figure rests on no pages instead of printing a PASS."""

from __future__ import annotations

import json
from pathlib import Path

from models.reading_report import _field_lines, _webcam_split


def test_given_no_money_page_when_field_lines_then_each_field_says_so_not_pass() -> None:
    lines = _field_lines([], 0)
    assert len(lines) == 3
    assert all("no scan money document" in ln and "PASS" not in ln for ln in lines)


def test_given_webcam_frames_when_split_then_frames_flagged_too_small_are_counted_apart() -> None:
    from edge.contract import Fields, ModelRef
    from edge.read.reader import Reading, review_doc_type

    ref = ModelRef(name="tesseract", version="5")

    def run(truth: str, read: str, errors: list[str]) -> dict[str, object]:
        reading = Reading(
            text=read,
            fields=Fields(),
            doc_type=review_doc_type(),
            ocr=ref,
            classifier=ref,
            timings_ms={},
            errors=errors,
        )
        return {"meta": {"text": truth}, "reading": reading}

    small = "the page is only 600 px long in the camera frame: its text is about 4 px high, too small to read"
    lines = _webcam_split([run("Invoice 42", "Invoice 42", []), run("Total 10.00", "", [small])])
    assert lines[0].split()[:4] == ["legible", "frames", ":", "1"]
    assert "order-free   0.00%" in lines[0]
    assert "frames flagged too small" in lines[1] and "order-free 100.00%" in lines[1]


def test_given_a_truth_in_capitals_when_casefolded_then_case_is_no_error_but_letters_still_are() -> None:
    from models.reading_report import cer_counts, order_free_counts

    truth, read = "DOC NO CS00031663\nCASHIER USER", "Doc No CS00031668 Cashier USER"
    assert cer_counts(truth, read)[0] > 5  # case counts unless folded
    assert cer_counts(truth, read, casefold=True) == (1, len("DOC NO CS00031663 CASHIER USER"))
    assert order_free_counts(truth, read, casefold=True)[0] == 1


def test_given_pages_with_no_text_when_split_then_their_accuracy_and_review_count_are_apart() -> None:
    import numpy as np

    from models.reading_report import _textless_split

    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.55, 0.45], [0.95, 0.05]])
    y = np.array([0, 1, 1, 1])
    lines = _textless_split(["Invoice 1", "Receipt 2", "", " "], probs, probs.argmax(1), y)
    assert "pages with text: accuracy 100.0% (2 pages)" in lines[0]
    assert "no text read: 2 pages, accuracy 0.0%, 1 sent to review" in lines[0]
    assert _textless_split(["a", "b"], probs[:2], probs[:2].argmax(1), y[:2]) == []


def test_given_a_real_document_truth_when_matched_then_issuer_ignores_case_and_punctuation_only(
    tmp_path: Path,
) -> None:
    from models.reading_report import _field_match, _real_fields

    assert _field_match("issuer", "MR D.I.Y. (M) SDN. BHD", "MR. D.I.Y. (M) SDN BHD")
    assert not _field_match("issuer", "Dat betaal ik zelf wel.", "Coolblue B.V.")
    assert not _field_match("issuer", None, "OYO")
    assert _field_match("total", "717.97", "717.97") and not _field_match("total", None, "717.97")
    (tmp_path / "x.json").write_text(
        json.dumps([{"issuer": "Coolblue B.V.", "iban": "NL50 INGB 0683 2513 09"}])
    )
    truth = _real_fields(tmp_path, {"fields": "x.json"})
    assert truth == {"issuer": "Coolblue B.V.", "iban": "NL50INGB0683251309"}


def test_given_the_other_fields_when_scored_then_rates_as_numbers_and_parties_by_role() -> None:
    from models.reading_report import _field_match, _truth

    assert _field_match("tax_rate", "0.2", "0.20") and not _field_match("tax_rate", "0.055", "0.55")
    assert not _field_match("tax_rate", "n/a", "0.20")
    truth = {
        "parties": [{"role": "institution", "name": "Carson Inc"}, {"role": "customer", "name": "Karen Meza"}]
    }
    assert _truth(truth, "customer") == "Karen Meza" and _truth(truth, "debtor") is None
    assert _field_match("customer", "KAREN MEZA", "Karen Meza")  # names without case or punctuation
