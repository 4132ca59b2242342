"""The corpus page generator: determinism, every document type, exact signature labels."""

from __future__ import annotations

import numpy as np
import pytest

from edge.contract import DOC_TYPES as CONTRACT_DOC_TYPES
from models.corpus import DOC_TYPES, generate_page

LOW_DPI = 80  # reduced-size pages keep the suite fast; geometry and labels work the same


def test_given_doc_types_when_compared_with_the_contract_then_they_are_the_same() -> None:
    assert tuple(DOC_TYPES) == tuple(CONTRACT_DOC_TYPES)


@pytest.mark.parametrize("profile", ["scan", "webcam"])
def test_given_a_seed_when_generated_twice_then_image_and_truth_are_identical(profile: str) -> None:
    a = generate_page(123, profile, "fr", dpi=LOW_DPI)
    b = generate_page(123, profile, "fr", dpi=LOW_DPI)
    assert a.meta == b.meta
    assert np.array_equal(a.image, b.image)
    assert a.encoded == b.encoded
    c = generate_page(124, profile, "fr", dpi=LOW_DPI)
    assert c.meta["text"] != a.meta["text"]


@pytest.mark.parametrize("doc_type", DOC_TYPES)
def test_given_each_doc_type_when_generated_then_page_has_text_fields_and_valid_boxes(doc_type: str) -> None:
    for seed, profile, lang in ((1, "scan", "en"), (2, "webcam", "fr")):
        p = generate_page(seed, profile, lang, doc_type, dpi=LOW_DPI)
        m = p.meta
        assert m["doc_type"] == doc_type and m["profile"] == profile and m["lang"] == lang
        assert p.image.dtype == np.uint8 and p.image.ndim == 3 and p.image.shape[2] == 3
        assert (m["height"], m["width"]) == p.image.shape[:2]
        assert len(m["text"]) > 20
        assert m["fields"].get("date")
        for item in m["signatures"] + m["negatives"]:
            x1, y1, x2, y2 = item["box"]
            assert 0 <= x1 < x2 <= m["width"] and 0 <= y1 < y2 <= m["height"]


def _ink(region: np.ndarray, paper: float) -> np.ndarray:
    """Pixels clearly darker than the paper (any channel)."""
    return region.min(axis=2).astype(np.float32) < paper - 40


@pytest.mark.parametrize("seed", range(6))
def test_given_a_clean_page_when_boxes_are_checked_then_each_is_tight_around_ink(seed: int) -> None:
    p = generate_page(seed, "scan", "en", "contract" if seed % 2 else "mandate", dpi=100, degrade=False)
    img = p.image
    paper = float(np.median(img[:20, :20].min(axis=2)))
    for item in p.meta["signatures"] + p.meta["negatives"]:
        x1, y1, x2, y2 = item["box"]
        ink = _ink(img[y1:y2, x1:x2], paper)
        assert ink.any(), item
        # tight: ink touches each side of the box (allowing a pixel of anti-aliasing)
        assert ink[:2].any() and ink[-2:].any() and ink[:, :2].any() and ink[:, -2:].any(), item


@pytest.mark.parametrize("profile", ["scan", "webcam"])
def test_given_degraded_pages_when_boxes_are_checked_then_they_lie_on_ink(profile: str) -> None:
    checked = 0
    for seed in range(40, 52):
        p = generate_page(seed, profile, "fr", "contract", dpi=110 if profile == "scan" else None)
        grey = p.image.min(axis=2).astype(np.float32)
        for s in p.meta["signatures"]:
            x1, y1, x2, y2 = s["box"]
            # the box is darker at its darkest than the page around it is on average
            pad = 15
            around = grey[max(0, y1 - pad) : y2 + pad, max(0, x1 - pad) : x2 + pad]
            assert grey[y1:y2, x1:x2].min() < np.median(around) - 25, (seed, s)
            checked += 1
    assert checked >= 5


def test_given_many_small_pages_when_counted_then_a_fifth_are_unsigned_and_signed_ones_average_two() -> None:
    counts = [
        len(generate_page(s, "scan", "en", dpi=40, degrade=False).meta["signatures"]) for s in range(100)
    ]
    unsigned = sum(c == 0 for c in counts) / len(counts)
    signed = [c for c in counts if c]
    assert 0.1 <= unsigned <= 0.35, counts
    assert 1.5 <= sum(signed) / len(signed) <= 2.8, counts
    assert max(counts) <= 8


def test_given_documents_with_line_items_when_summed_then_amounts_add_up_to_the_total() -> None:
    from decimal import ROUND_HALF_UP, Decimal

    seen = slips = 0
    for seed in range(8):
        for doc_type in ("invoice", "receipt", "purchase_order"):
            f = generate_page(seed, "scan", "fr" if seed % 2 else "en", doc_type, dpi=40, degrade=False).meta[
                "fields"
            ]
            items = f["line_items"]
            if doc_type == "receipt" and not items:  # a card terminal's slip prints the sum alone
                assert Decimal(f["total"]) > 0 and "subtotal" not in f
                slips += 1
                continue
            assert items
            for it in items:
                line = (Decimal(it["quantity"]) * Decimal(it["unit_price"])).quantize(
                    Decimal("0.01"), ROUND_HALF_UP
                )
                assert line == Decimal(it["amount"]), it
            assert sum(Decimal(i["amount"]) for i in items) == Decimal(f["subtotal"])
            assert Decimal(f["subtotal"]) + Decimal(f["tax"]) == Decimal(f["total"])
            assert len(f["currency"]) == 3 and f["date"][4] == "-"
            seen += 1
    assert seen + slips == 24 and seen >= 20 and slips >= 1


def test_given_a_page_with_a_qr_code_when_decoded_then_payload_matches_meta() -> None:
    import cv2

    decoded = 0
    for seed in range(30):
        p = generate_page(seed, "scan", "fr" if seed % 2 else "en", "invoice", dpi=150, degrade=False)
        payload = p.meta["fields"]["qr"]
        if not payload:
            continue
        (code,) = p.meta["codes"]
        assert code["payload"] == payload
        x1, y1, x2, y2 = code["box"]
        text, _, _ = cv2.QRCodeDetector().detectAndDecode(
            p.image[max(0, y1 - 20) : y2 + 20, max(0, x1 - 20) : x2 + 20]
        )
        assert text == payload
        decoded += 1
        if decoded == 3:
            break
    assert decoded == 3


def test_given_bad_arguments_when_generating_then_a_clear_error_names_them() -> None:
    with pytest.raises(ValueError, match="profile"):
        generate_page(1, "fax", "en")
    with pytest.raises(ValueError, match="lang"):
        generate_page(1, "scan", "de")
    with pytest.raises(ValueError, match="document type"):
        generate_page(1, "scan", "en", "passport")


def _docs(doc_type: str, n: int):  # type: ignore[no-untyped-def]
    import random

    from faker import Faker

    from models.corpus.content import BUILDERS, Ctx

    for seed in range(n):
        fake = Faker("en_US")
        fake.seed_instance(seed)
        yield BUILDERS[doc_type](Ctx(fake, random.Random(seed), "en"))


def test_given_english_pages_when_priced_outside_the_us_then_numeric_dates_are_day_first() -> None:
    from datetime import date

    from edge.read.parse import find_dates

    seen = {True: 0, False: 0}
    for doc in _docs("invoice", 120):
        want = date.fromisoformat(doc.fields["date"])
        if want.day <= 12:  # only an ambiguous date tells the order
            continue
        kv = dict(next(b.data["items"] for b in doc.blocks if b.kind == "kv"))
        printed = kv["Date"]
        if "/" not in printed:
            continue
        day_first = doc.fields["currency"] != "USD"
        assert find_dates(printed, month_first=not day_first)[0][0] == want.isoformat()
        assert printed.startswith(f"{want.day:02d}/") == day_first, (printed, doc.fields["currency"])
        seen[day_first] += 1
    assert seen[True] and seen[False]  # both conventions were exercised


def test_given_receipts_when_generated_then_their_wording_varies_and_cash_lines_add_up() -> None:
    from decimal import Decimal

    titles, cash = set(), 0
    for doc in _docs("receipt", 200):
        titles.update(b.data["text"] for b in doc.blocks if b.kind == "title")
        items = dict((k, v) for k, v, _ in next(b.data["items"] for b in doc.blocks if b.kind == "totals"))
        if "Cash" in items:
            cash += 1
            given, change = Decimal(items["Cash"].replace(",", "")), Decimal(items["Change"].replace(",", ""))
            assert given - change == Decimal(doc.fields["total"]) and change >= 0
    assert {"RECEIPT", "TAX INVOICE"} <= titles and len(titles) >= 6
    assert 25 <= cash <= 90
    # Not every receipt is a till roll: card terminal slips and receipts for a paid service too.
    assert {"CUSTOMER COPY", "PAYMENT RECEIPT"} & titles and titles & {
        "SALE",
        "CARD RECEIPT",
        "MERCHANT COPY",
    }


def test_given_shop_receipts_when_generated_then_only_shops_outside_the_us_print_a_vat_or_gst_number() -> (
    None
):
    from edge.read.fields import RE_NON_US_TAX

    registered = {"USD": 0, "other": 0}
    for doc in _docs("receipt", 300):
        head = next((b.data for b in doc.blocks if b.kind == "letterhead"), None)
        if head and any(RE_NON_US_TAX.search(line) for line in head.get("lines", [])):
            registered["USD" if doc.fields.get("currency") == "USD" else "other"] += 1
    assert registered["USD"] == 0 and registered["other"] > 10


def test_given_tills_that_round_cash_when_generated_then_the_total_is_the_rounded_sum_and_a_tax_summary_follows() -> (
    None
):
    from decimal import Decimal

    rounded = 0
    for doc in _docs("receipt", 300):
        printed = next((b.data["items"] for b in doc.blocks if b.kind == "totals"), [])
        labels = [k for k, _v, _bold in printed]
        if "Rounding" not in labels and "Rounding adj." not in labels and "Round off" not in labels:
            continue
        rounded += 1
        total = Decimal(doc.fields["total"])
        assert total % Decimal("0.05") == 0 and total != Decimal(doc.fields["subtotal"]) + Decimal(
            doc.fields["tax"]
        )
        summary = [b for b in doc.blocks if b.kind == "table"][-1].data
        assert (
            summary["rows"][-1][0] == "Total"
            and summary["rows"][-1][-1].replace(",", "") == doc.fields["tax"]
        )
    assert rounded >= 5


def test_given_card_slips_and_payment_receipts_when_their_text_is_read_then_number_date_and_total_found() -> (
    None
):
    """The receipt styles besides the till roll carry their figures under other labels ("SALE
    AMOUNT", "MONTANT", "Amount received", "Reference:"): the field reader must find them."""
    import random

    from faker import Faker

    from edge.read.fields import extract
    from edge.read.ocr import page_from_text
    from models.corpus.content import Ctx, _card_slip, _payment_receipt
    from models.corpus.layout import layout

    for build in (_card_slip, _payment_receipt):
        for seed in range(16):
            lang = ("en", "fr")[seed % 2]
            fake = Faker({"en": "en_US", "fr": "fr_FR"}[lang])
            fake.seed_instance(seed)
            doc = build(Ctx(fake, random.Random(seed), lang))
            text = "\n".join(layout(doc, 100, random.Random(seed)).text)
            values = {k: v.value for k, v in extract(page_from_text(text), "receipt").values.items()}
            for key in ("number", "date", "total"):
                assert str(values.get(key)) == str(doc.fields[key]), (build.__name__, key, text)


def test_given_name_below_slots_when_signed_then_some_signatures_run_across_the_typed_name() -> None:
    """People sign letters low, through the rule and over their typed name: the corpus must show
    the detector such strokes mixed with print, not only signatures sitting above the line."""
    import random

    from faker import Faker
    from PIL import Image

    from models.corpus.content import Doc
    from models.corpus.layout import Laid
    from models.corpus.placement import Ink, place_signatures

    dpi = 100
    rect = (100, 200, 500, 290)  # the slot ends 3 mm under its rule; the typed name starts just below
    low = 0
    for seed in range(60):
        page = np.full((800, 600, 3), 255, np.uint8)
        laid = Laid(
            image=Image.fromarray(page), sign_places=[{"rect": rect, "style": "name_below", "label": "x"}]
        )
        pen = Ink(page)
        doc = Doc(doc_type="letter", lang="en", blocks=[], fields={})
        place_signatures(random.Random(seed), laid, pen, doc, Faker("en_US"), dpi, 1)
        (box,) = pen.boxes("signature")
        low += box[3] - rect[3] >= 0.2 * (box[3] - box[1])
    assert 10 <= low <= 35


def test_given_payslips_when_their_text_is_read_then_no_number_carries_float_noise() -> None:
    """Hours once came from Decimal(151.67), and the page printed 151.6699999999999874944478506."""
    import re

    hours = set()
    for seed in range(30):
        text = generate_page(seed, "scan", "fr" if seed % 2 else "en", "payslip", dpi=40, degrade=False).meta[
            "text"
        ]
        assert not re.search(r"\d[.,]\d{6,}", text), text  # (phones and dates have 4)
        hours.update(re.findall(r"\b151[.,]67\b", text))
    assert hours  # the monthly 151.67 hours is among them, printed as such


def test_given_a_seed_when_generated_on_another_day_then_its_handwritten_dates_are_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Faker dates run up to *now* unless told otherwise: the corpus must not follow the clock."""
    from datetime import datetime

    import faker.providers.date_time as faker_dates

    def truths() -> list[str]:
        out = []
        for seed in range(40):
            page = generate_page(seed, "scan", "en", "contract")
            out.append(page.meta["text"] + repr(page.meta.get("negatives")))
        return out

    today = truths()

    class Later(datetime):
        @classmethod
        def now(cls, tz=None):  # type: ignore[no-untyped-def,override]
            return datetime(2031, 7, 15, 13, 0, tzinfo=tz)

    monkeypatch.setattr(faker_dates, "datetime", Later)
    assert truths() == today


def test_given_many_page_styles_when_light_print_is_drawn_then_some_pages_take_it_and_the_stream_is_untouched() -> (
    None
):
    import random

    from models.corpus.layout import (
        BRIGHT_ACCENTS,
        BRIGHT_SHARE,
        FAINT_GREYS,
        FAINT_SHARE,
        Style,
        light_print,
    )

    bright = faint = 0
    for seed in range(600):
        r = random.Random(seed)
        state = r.getstate()
        st = Style(
            "sans", "", "", 10.0, (20.0,) * 4, 1.2, (0, 0, 0), "left", "left", "plain", (255, 255, 255)
        )
        light_print(r, st)
        assert r.getstate() == state  # a page that takes neither is drawn exactly as before
        bright += st.accent in BRIGHT_ACCENTS
        if st.small_ink != (15, 15, 15):
            faint += 1
            assert FAINT_GREYS[0] <= st.small_ink[0] <= FAINT_GREYS[1]
    assert abs(bright / 600 - BRIGHT_SHARE) < 0.05 and abs(faint / 600 - FAINT_SHARE) < 0.05
