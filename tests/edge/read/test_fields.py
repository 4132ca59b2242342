"""Fields per document type from OCR-like text, and consistency checks that fail when they should."""

from __future__ import annotations

import pytest

from edge.contract import Code
from edge.read.fields import extract
from edge.read.ocr import Line, OcrPage, Word, page_from_text

INVOICE_EN = """Bishop-Russell
403 Alicia Common
Chadhaven

TAX INVOICE
No.: INV-2021-26098
Date: 04/08/2021
Due date: May 8, 2021

Bill to
Acme Corp
12 Main Street

Description Qty Unit price Amount
Office chair 2 $150.00 $300.00
Toner cartridge 3 45.50 136.50
Subtotal $436.50
Tax 8% $34.92
Total $471.42
Payment terms: 30 days IBAN: GB82 WEST 1234 5698 7654 32
"""

FACTURE_FR = """Hebert SARL
549 chemin Courtois

FACTURE
N°: FAC-2025-49693
Date: 5 janvier 2025
Échéance: 06/03/2025
Facturer à
Robert Foucher

Désignation Qté Prix unitaire Montant
Traiteur 1 1 472,02 1 472,02
Traiteur 30 231,17 6 935,10
Total HT 8 407,12 €
TVA 20% 1 681,42 €
Total TTC 10 088,54 €
"""


def _values(fields):  # type: ignore[no-untyped-def]
    return {k: v.value for k, v in fields.values.items()}


def test_given_english_invoice_text_when_extracted_then_normalised_fields() -> None:
    f = extract(page_from_text(INVOICE_EN), "invoice")
    v = _values(f)
    assert v["number"] == "INV-2021-26098"
    assert v["date"] == "2021-04-08"  # US order on an English page
    assert v["due_date"] == "2021-05-08"
    assert (v["subtotal"], v["tax"], v["total"]) == ("436.50", "34.92", "471.42")
    assert v["currency"] == "USD"
    assert v["iban"] == "GB82WEST12345698765432"
    assert v["seller"] == "Bishop-Russell"
    assert v["buyer"] == "Acme Corp"
    assert [(i.quantity, i.unit_price, i.amount) for i in f.line_items] == [(2, 150, 300), (3, 45.5, 136.5)]
    checks = {c.name: c.ok for c in f.checks}
    assert checks == {"iban_checksum": True, "net_plus_tax_equals_total": True, "line_items_sum": True}


def test_given_field_when_extracted_then_it_names_its_words_and_confidence() -> None:
    page = page_from_text(INVOICE_EN, conf=0.9)
    f = extract(page, "invoice")
    total = f.values["total"]
    assert total.words and page.words[total.words[-1]].text == "$471.42"
    assert 0 < total.confidence <= 1
    assert total.raw is not None and "471.42" in total.raw


def test_given_french_invoice_with_space_grouping_when_extracted_then_amounts_and_day_first_dates() -> None:
    f = extract(page_from_text(FACTURE_FR), "invoice")
    v = _values(f)
    assert v["number"] == "FAC-2025-49693"
    assert v["date"] == "2025-01-05"
    assert v["due_date"] == "2025-03-06"
    assert (v["subtotal"], v["tax"], v["total"], v["currency"]) == ("8407.12", "1681.42", "10088.54", "EUR")
    assert [i.amount for i in f.line_items] == [1472.02, 6935.10]
    assert all(c.ok for c in f.checks), f.checks


def test_given_totals_that_do_not_add_up_when_extracted_then_checks_fail_not_hidden() -> None:
    text = INVOICE_EN.replace("Total $471.42", "Total $500.00").replace(
        "Toner cartridge 3 45.50 136.50", "Toner cartridge 3 45.50 140.00"
    )
    f = extract(page_from_text(text), "invoice")
    checks = {c.name: c for c in f.checks}
    assert not checks["net_plus_tax_equals_total"].ok
    assert not checks["line_item_arithmetic"].ok
    assert "45.50" in checks["line_item_arithmetic"].detail
    assert not checks["line_items_sum"].ok
    assert f.values["total"].value == "500.00"  # the value stays as read


def test_given_a_total_or_tax_misread_by_one_digit_when_the_items_confirm_the_net_then_mended_and_flagged() -> (
    None
):
    f = extract(page_from_text(INVOICE_EN.replace("Total $471.42", "Total $71.42")), "invoice")
    checks = {c.name: c for c in f.checks}
    assert f.values["total"].value == "471.42" and f.values["total"].confidence <= 0.6
    assert not checks["total_mended"].ok and "71.42" in checks["total_mended"].detail
    assert checks["net_plus_tax_equals_total"].ok and checks["line_items_sum"].ok

    f = extract(page_from_text(INVOICE_EN.replace("Tax 8% $34.92", "Tax 8% $84.92")), "invoice")
    assert (f.values["tax"].value, f.values["total"].value) == ("34.92", "471.42")
    assert not {c.name: c for c in f.checks}["tax_mended"].ok


def test_given_sums_that_do_not_point_to_one_misread_when_extracted_then_nothing_is_mended() -> None:
    # the total is far from net + tax: a different sum, not a misread digit
    f = extract(page_from_text(INVOICE_EN.replace("Total $471.42", "Total $571.99")), "invoice")
    assert f.values["total"].value == "571.99"
    assert not any(c.name.endswith("_mended") for c in f.checks)
    # one digit off, but neither the line items nor a printed rate confirm the net: it could be
    # the net that is wrong
    text = (
        INVOICE_EN.replace("Total $471.42", "Total $71.42")
        .replace("3 45.50 136.50", "3 45.50 186.50")
        .replace("Tax 8%", "Tax")
    )
    f = extract(page_from_text(text), "invoice")
    assert f.values["total"].value == "71.42"
    assert not {c.name: c for c in f.checks}["net_plus_tax_equals_total"].ok
    # no line items to confirm the net, but the printed rate does: 20% of 964.61 is 192.92
    text = (
        "Hubert\nNOTE\nN° de ticket: 4789-516318\nDate: 1 avril 2024\n"
        "Total HT 964,61 €\nTVA 20% 192,92 €\nTotal TTC 157,53 €\n"
    )
    f = extract(page_from_text(text), "receipt")
    assert f.values["total"].value == "1157.53"
    assert "printed tax rate" in {c.name: c for c in f.checks}["total_mended"].detail
    f = extract(page_from_text(text.replace("TVA 20%", "TVA 10%")), "receipt")
    assert f.values["total"].value == "157.53"  # the rate does not fit: nothing confirms the net
    # the tax lost its decimal comma (a test-split page: 756,81 read as 75681): the total stays
    lines = FACTURE_FR.split("Désignation")[0] + (
        "Désignation Qté Prix unitaire Montant\nTraiteur 1 7 568,10 7 568,10\n"
        "Total HT 7 568,10 €\nTVA 10% 75681 €\nTotal TTC 8 324,91 €\n"
    )
    f = extract(page_from_text(lines), "invoice")  # 7568.10 + 75681 = 83249.10, the total shifted
    assert f.values["total"].value == "8324.91"
    # and the tax read is none the total allows, but the net times the printed 10% is the total
    # less the net: that is the tax, mended, and the failed check says what was read
    checks = {c.name: c for c in f.checks}
    assert f.values["tax"].value == "756.81" and f.values["tax"].confidence <= 0.6
    assert not checks["tax_mended"].ok and "75681" in checks["tax_mended"].detail
    assert "total_mended" not in checks
    # without a printed rate that vouches for it, a tax above the total is dropped, not mended
    f = extract(page_from_text(lines.replace("TVA 10%", "TVA")), "invoice")
    assert f.values["total"].value == "8324.91"
    assert "tax" not in f.values and "75681" in {c.name: c for c in f.checks}["tax_read"].detail
    assert not any(c.name.endswith("_mended") for c in f.checks)


def test_given_bad_iban_when_extracted_then_checksum_fails() -> None:
    f = extract(page_from_text(INVOICE_EN.replace("7654 32", "7654 33")), "invoice")
    assert {c.name: c.ok for c in f.checks}["iban_checksum"] is False


def test_given_qr_payload_when_it_disagrees_with_text_then_check_fails() -> None:
    epc = "\n".join(
        [
            "BCD",
            "002",
            "1",
            "SCT",
            "",
            "Hebert",
            "FR1420041010050500013M02606",
            "EUR10088.54",
            "",
            "",
            "FAC-2025-49693",
        ]
    )
    f = extract(page_from_text(FACTURE_FR), "invoice", codes=[Code(kind="qr", payload=epc)])
    assert {c.name: c.ok for c in f.checks}["code_matches_text"] is True
    wrong = epc.replace("EUR10088.54", "EUR99.00")
    f = extract(page_from_text(FACTURE_FR), "invoice", codes=[Code(kind="qr", payload=wrong)])
    check = next(c for c in f.checks if c.name == "code_matches_text")
    assert not check.ok and "total" in check.detail and "10088.54" in check.detail
    # the checksummed code outranks OCR digits, at a confidence that sends the page for review
    assert f.values["total"].value == "99.00" and f.values["total"].confidence <= 0.6


def test_given_fields_too_faint_to_read_when_a_payment_code_is_decoded_then_it_fills_them() -> None:
    epc = "\n".join(
        [
            "BCD",
            "002",
            "1",
            "SCT",
            "",
            "Hebert",
            "FR1420041010050500013M02606",
            "EUR10088.54",
            "",
            "",
            "FAC-2025-49693",
        ]
    )
    f = extract(
        page_from_text("FACTURE\nN°: ;'.\nTotal TTC ~~ ,\n"), "invoice", codes=[Code(kind="qr", payload=epc)]
    )
    v = _values(f)
    assert (v["number"], v["total"], v["currency"], v["iban"]) == (
        "FAC-2025-49693",
        "10088.54",
        "EUR",
        "FR1420041010050500013M02606",
    )
    assert {c.name: c.ok for c in f.checks}["code_fills_text"] is True
    assert f.values["total"].words == [] and f.values["total"].confidence < 1


def test_given_receipt_when_extracted_then_merchant_date_total() -> None:
    text = (
        "Bernal Cutlery\n766 Valencia Street\nRECEIPT\nDate: 2023-05-06 14:28\nCoffee 2 12.50\nTotal $23.90\n"
    )
    v = _values(extract(page_from_text(text), "receipt"))
    assert (v["merchant"], v["date"], v["total"], v["currency"]) == (
        "Bernal Cutlery",
        "2023-05-06",
        "23.90",
        "USD",
    )


@pytest.mark.parametrize(
    ("line", "number"),
    [
        ("No.: 5565- 387348", "5565-387348"),  # OCR split right after the hyphen
        ("No.: 7129- 128975 NN", "7129-128975"),  # ... with a stray mark after it
        ("No.: INV-202 1-26098", "INV-2021-26098"),  # split inside, hyphen in the tail
        ("No.: 0330-7 76237", "0330-776237"),  # split inside the digits
        ("No: INV566876", "INV566876"),  # "No" without its dot
        ("Ne: 3867-306670", "3867-306670"),  # "N°" whose degree sign read as a letter
        ("Receipt Ne.: 7253-740248", "7253-740248"),  # ... with a dot after it
        ("N: BC-2019-02138", "BC-2019-02138"),  # ... or lost
        ("N°: 3165 -644892", "3165-644892"),  # split right before the hyphen
        ("N°: 3165 -644892, 12.50", "3165"),  # not before a minus amount
        ("No.: 4410 Date: 2024-01-02", "4410"),  # a following word is not part of it
        ("No.: 4410 12", "4410"),  # nor a lone number after one without a hyphen
    ],
)
def test_given_receipt_number_as_ocr_mangles_it_when_extracted_then_whole_number(
    line: str, number: str
) -> None:
    text = f"Bernal Cutlery\n766 Valencia Street\nRECEIPT\n{line}\nCoffee 2 12.50\nTotal $23.90\n"
    assert _values(extract(page_from_text(text), "receipt")).get("number") == number


@pytest.mark.parametrize("label", ["N° transaction", "N° de transaction"])
def test_given_a_transaction_number_under_a_phone_read_with_a_hash_when_extracted_then_it_is_the_number(
    label: str,
) -> None:
    # "+33 5 63 ..." read as "#33 5 63 ...": the "#" must not make 33 the receipt's number
    text = f"Cordier SARL\n#33 5 63 12 03 73\nREÇU\n{label}: 1645-811445\nCafé 2 12,50\nTotal 25,00 €\n"
    assert _values(extract(page_from_text(text), "receipt")).get("number") == "1645-811445"


def test_given_number_label_lost_when_extracted_then_lone_code_at_top_with_low_confidence() -> None:
    # A stamp over "N°:" leaves the number alone on its line.
    text = "Hamon\n37, boulevard Martine\n0495801803\nBon de commande\nBC-2019-38610\n26/10/2021\nTotal 12,50 €\n"
    number = extract(page_from_text(text), "purchase_order").values["number"]
    assert number.value == "BC-2019-38610" and number.confidence <= 0.5


@pytest.mark.parametrize(
    "line",
    ["0495801803", "SIRET 895 571 958 00936", "GB82 WEST 1234 5698 7654 32", "AB12", "REF: XY-99"],
)
def test_given_no_number_label_when_extracted_then_no_lone_digits_or_short_code_taken(line: str) -> None:
    text = f"Hamon\n{line}\nBon de commande\nTotal 12,50 €\n"
    assert "number" not in _values(extract(page_from_text(text), "purchase_order"))


@pytest.mark.parametrize("net", ["Net amount", "Net amount 07"])
def test_given_net_amount_unread_when_extracted_then_total_and_tax_keep_their_own_lines(net: str) -> None:
    # The net's value was lost (or read as a speck, "07"): neither the tax line under it nor
    # the speck is the net, and a bare "Net amount" is never the total.
    text = f"Wilcox Ltd\nTAX INVOICE\nShipping 4 105.76\n{net}\nTax 20% $271.11\nTOTAL $1,626.68\n"
    v = _values(extract(page_from_text(text), "receipt"))
    assert v["total"] == "1626.68"
    assert v.get("subtotal") != "271.11"


def test_given_phone_line_when_extracted_then_not_a_number_label() -> None:
    text = "Bernal Cutlery\nPhone: 415-355-0773\nRECEIPT\nCoffee 2 12.50\nTotal $23.90\n"
    assert "number" not in _values(extract(page_from_text(text), "receipt"))


CONTRACT = """SERVICE AGREEMENT
Between Paul Nguyen (Supplier) and Kimberly Martinez (Client), it is agreed as follows.
Article 1 - Scope
The supplier provides services.
Signed at Springfield on 03/14/2024
Supplier Client
Signature: ____________ Signature: ____________
"""


def test_given_unsigned_contract_when_extracted_then_flagged() -> None:
    f = extract(page_from_text(CONTRACT), "contract", signatures_found=0)
    v = _values(f)
    assert v["party_a"] == "Paul Nguyen" and v["party_b"] == "Kimberly Martinez"
    assert v["place"] == "Springfield" and v["date"] == "2024-03-14"
    signed = next(c for c in f.checks if c.name == "signed")
    assert not signed.ok and "unsigned contract" in signed.detail


def test_given_signed_contract_when_extracted_then_signed_check_passes() -> None:
    f = extract(page_from_text(CONTRACT), "contract", signatures_found=2)
    assert next(c for c in f.checks if c.name == "signed").ok


def test_given_french_contract_when_extracted_then_place_and_date() -> None:
    text = "CONTRAT DE BAIL\nEntre Marie Dupont (Le bailleur) et Jean Martin (Le locataire), il a été convenu ce qui suit.\nFait à Lyon, le 12 février 2023\n"
    v = _values(extract(page_from_text(text), "contract", signatures_found=2))
    assert (v["place"], v["date"], v["party_a"], v["party_b"]) == (
        "Lyon",
        "2023-02-12",
        "Marie Dupont",
        "Jean Martin",
    )


def test_given_letter_when_extracted_then_sender_recipient_date() -> None:
    text = "White-Cooper\n74115 Baker Shore\n\nNicholas Dillon\n7271 Hernandez Neck\n\nNorth Betty, August 5, 2023\nSubject: Your order\nDear Nicholas Dillon,\nWe write to you.\n"
    v = _values(extract(page_from_text(text), "letter"))
    assert (v["sender"], v["recipient"], v["date"], v["subject"]) == (
        "White-Cooper",
        "Nicholas Dillon",
        "2023-08-05",
        "Your order",
    )


def test_given_payslip_when_extracted_then_gross_and_net() -> None:
    text = "Stewart-Farmer\nPAYSLIP\nEmployee: Thomas Hess\nDate: 28/09/2023\nGross pay £3,500.00\nNet pay £2,788.10\n"
    v = _values(extract(page_from_text(text), "payslip"))
    assert (v["gross"], v["total"], v["currency"], v["employee"], v["date"]) == (
        "3500.00",
        "2788.10",
        "GBP",
        "Thomas Hess",
        "2023-09-28",
    )


def test_given_empty_text_when_extracted_then_no_fields_and_no_crash() -> None:
    f = extract(page_from_text(""), "invoice")
    assert "total" not in f.values and not f.line_items


def test_given_totals_as_label_column_and_amount_column_when_extracted_then_paired_by_position() -> None:
    text = "FACTURE\nN°: FAC-1\nDésignation Qté Prix unitaire Montant\nTotal HT\nTVA 20%\nTotal TTC\n\n100,00 €\n20,00 €\n120,00 €\n"
    v = _values(extract(page_from_text(text), "invoice"))
    assert (v["subtotal"], v["tax"], v["total"]) == ("100.00", "20.00", "120.00")


def test_given_total_on_page_read_as_another_type_when_extracted_then_total_still_read() -> None:
    text = "BON DE LIVRAISON\nN°: BL-7\nSubtotal 51,978.76 EUR\nTotal 54,577.70 EUR\n"
    v = _values(extract(page_from_text(text), "delivery_note"))
    assert (v["total"], v["currency"]) == ("54577.70", "EUR")


def _boxed_page(blocks: list[list[tuple[float, float, str]]]) -> OcrPage:
    """An OcrPage as Tesseract returns a page read in column blocks: each block a list of lines
    (x, y of the line's top left, normalised; text), words laid out left to right."""
    page = OcrPage()
    for bno, block in enumerate(blocks, start=1):
        page.blocks.append([])
        for x, y, text in block:
            line = Line(words=[], text=text, block=bno, box=(x, y, x, y + 0.012))
            for tok in text.split():
                w = Word(
                    tok,
                    0.95,
                    (x, y, x + 0.008 * len(tok), y + 0.012),
                    bno,
                    1,
                    len(page.lines),
                    len(page.words),
                )
                x += 0.008 * (len(tok) + 1)
                line.words.append(w.index)
                page.words.append(w)
            line.box = (line.box[0], y, x, y + 0.012)
            page.blocks[-1].append(len(page.lines))
            page.lines.append(line)
    return page


def test_given_label_and_amount_columns_read_as_separate_blocks_when_extracted_then_paired_by_row() -> None:
    """Tesseract reads a receipt's totals as a label block and an amount block, with other
    lines in between so the two runs do not have the same length: the word boxes pair them."""
    page = _boxed_page(
        [
            [(0.1, 0.05, "TICKET DE CAISSE"), (0.1, 0.10, "N°: 8176-941597")],
            [(0.1, 0.20, "Article"), (0.1, 0.24, "Lampe de bureau"), (0.1, 0.28, "Câble USB-C")],
            [(0.1, 0.40, "Total HT"), (0.1, 0.44, "TVA 5,5%"), (0.1, 0.48, "Total TTC")],
            [(0.1, 0.55, "Payé par CB **** 4167")],
            [(0.8, 0.24, "112,04"), (0.8, 0.28, "79,64")],
            [(0.75, 0.40, "454,45 €"), (0.75, 0.44, "24,99 €"), (0.75, 0.48, "479,44 €")],
        ]
    )
    v = _values(extract(page, "receipt"))
    assert (v["subtotal"], v["tax"], v["total"]) == ("454.45", "24.99", "479.44")


def test_given_header_labels_and_values_in_separate_blocks_when_extracted_then_paired_by_row() -> None:
    page = _boxed_page(
        [
            [(0.1, 0.05, "Dunlap Group"), (0.1, 0.08, "East Lisa, NH 20470")],
            [(0.6, 0.05, "TAX INVOICE"), (0.6, 0.10, "No.:"), (0.6, 0.13, "Date:"), (0.6, 0.16, "Due date:")],
            [(0.75, 0.10, "INV282889"), (0.75, 0.13, "11/06/2019"), (0.75, 0.16, "2019-12-06")],
            [(0.1, 0.60, "Total"), (0.8, 0.60, "$25,340.89")],
        ]
    )
    v = _values(extract(page, "invoice"))
    assert (v["number"], v["date"], v["due_date"]) == ("INV282889", "2019-11-06", "2019-12-06")


def test_given_masked_card_number_after_total_label_when_extracted_then_not_taken_as_total() -> None:
    v = _values(extract(page_from_text("Receipt\nTotal\nPaid by card **** 4167\n"), "receipt"))
    assert v.get("total") != "4167.00"


def test_given_stray_low_confidence_date_when_extracted_then_it_does_not_turn_the_page_order() -> None:
    """A stamp read as '21/03/2000' at low confidence must not make '08/11/2022' day first."""
    page = _boxed_page(
        [[(0.1, 0.05, "Sales receipt"), (0.1, 0.10, "Date: 08/11/2022"), (0.1, 0.2, "Total $510.86")]]
    )
    stamp = Word("21/03/2000", 0.3, (0.5, 0.3, 0.6, 0.31), 2, 1, len(page.lines), len(page.words))
    page.words.append(stamp)
    page.lines.append(Line(words=[stamp.index], text=stamp.text, block=2, box=stamp.box))
    page.blocks.append([len(page.lines) - 1])
    assert _values(extract(page, "receipt"))["date"] == "2022-08-11"
    stamp.conf = 0.95  # read confidently, a day over 12 does settle the order
    assert _values(extract(page, "receipt"))["date"] == "2022-11-08"


@pytest.mark.parametrize(
    ("text", "date"),
    [
        ("Receipt\nDate: 04/08/2021\nTotal £12.40\n", "2021-08-04"),  # pounds: day first
        ("Receipt\nDate: 04/08/2021\nTotal 12.40 EUR\n", "2021-08-04"),
        ("Receipt\nDate: 04/08/2021\nTotal RM 12.40\n", "2021-08-04"),  # ringgit
        ("Receipt\nGST Reg No 0012\nDate: 04/08/2021\nTotal 12.40\n", "2021-08-04"),  # GST, no currency
        ("Receipt\nDate: 04/08/2021\nTotal $12.40\n", "2021-04-08"),  # dollars: the US order
        ("Receipt\nDate: 04/08/2021\nTotal 12.40 CAD\n", "2021-04-08"),  # Canada settles nothing
        ("Receipt\nDate: 04/08/2021\nTotal 12.40\n", "2021-04-08"),  # nothing to go on: US order
    ],
)
def test_given_ambiguous_english_date_when_extracted_then_order_follows_the_page_country(
    text: str, date: str
) -> None:
    assert _values(extract(page_from_text(text), "receipt"))["date"] == date


@pytest.mark.parametrize(
    ("text", "total"),
    [
        ("Total Qty 3\nTotal 6% supplies (excl. GST): 28.32\nGST: 1.69\nTotal Payable: 22.58\n", "22.58"),
        ("Total Qty 1\nTotal Sales (Excluding GST) 60.91\nTotal GST 0.00\nTotal 60.91\n", "60.91"),
        ("Total items 4\nDiscount 1.00\nTotal inclusive of VAT 31.45\n", "31.45"),
        ("Total Discount 2.00\nAmount payable 18.20\nCash 20.00\nChange 1.80\n", "18.20"),
    ],
)
def test_given_receipt_count_and_tax_lines_when_extracted_then_total_is_the_amount_paid(
    text: str, total: str
) -> None:
    assert _values(extract(page_from_text("Receipt\n" + text), "receipt"))["total"] == total


def test_given_shop_registration_number_above_receipt_number_when_extracted_then_receipt_number_taken() -> (
    None
):
    text = (
        "Corner Shop\nVAT Reg No. 123456789\nTel No. 0123 4567\nReceipt\nDoc No. 0042-118230\nTotal £3.20\n"
    )
    assert _values(extract(page_from_text(text), "receipt"))["number"] == "0042-118230"


@pytest.mark.parametrize(
    "registration",
    ["TVA intracom. 564767628311", "VAT No. 123456789", "N° TVA FR40303265045", "GST Reg 001234567890"],
)
def test_given_a_vat_registration_number_when_extracted_then_it_is_not_the_tax(registration: str) -> None:
    text = f"Shop\n{registration}\nTicket\nTotal HT 10,00\nTVA 20% 2,00\nNet à payer 12,00 €\n"
    values = _values(extract(page_from_text(text), "receipt"))
    assert values["tax"] == "2.00"
    assert values["total"] == "12.00"


def test_given_french_receipt_a_payer_label_when_extracted_then_it_is_the_total() -> None:
    text = "Ticket\nTotal HT 10,00\nTVA 20% 2,00\nÀ PAYER 12,00 €\nEspèces 20,00\nRendu 8,00\n"
    assert _values(extract(page_from_text(text), "receipt"))["total"] == "12.00"


@pytest.mark.parametrize("total", ["otal TTC 61 593,62 €", "otal 61 593,62 €"])
def test_given_a_total_label_that_lost_its_first_letter_when_extracted_then_still_the_total(
    total: str,
) -> None:
    text = f"Facture\nSous-total 51 328,02 €\nTVA 20% 10 265,60 €\n{total}\n"
    v = _values(extract(page_from_text(text), "invoice"))
    assert v["total"] == "61593.62" and v["subtotal"] == "51328.02"


@pytest.mark.parametrize("line", ["MONTANT ° .355,06 CHF", "MONTANT , .355,06 CHF"])
def test_given_a_card_slip_amount_behind_specks_when_extracted_then_it_is_the_total(line: str) -> None:
    text = f"TICKET COMMERCANT\nDate: 28/03/2021 19:12\nAUTH: 508683\n{line}\nACCEPTE\n"
    assert _values(extract(page_from_text(text), "receipt"))["total"] == "355.06"


@pytest.mark.parametrize(
    ("text", "number"),
    [
        (
            "Account number: 296664039561\nCustomer number C1234567\nInvoice No.: INV-2021-00042\n",
            "INV-2021-00042",
        ),
        ("N° client : A1234567\nN° de compte 99887766\nFacture n°562044387\n", "562044387"),
        ("Numéro de ligne 0102030405\nN° : FAC-2020-00017\n", "FAC-2020-00017"),
    ],
)
def test_given_account_and_customer_numbers_when_extracted_then_the_invoice_number_is_taken(
    text: str, number: str
) -> None:
    page = "Invoice\n" + text + "Date: 2021-03-04\nTotal $10.00\n"
    assert _values(extract(page_from_text(page), "invoice"))["number"] == number


def test_given_french_payment_deadline_when_extracted_then_it_is_the_due_date_not_the_issue_date() -> None:
    text = "Facture\nN° : FAC-2015-00042\nDate limite de paiement le 05/07/2015\nDate : 02/07/2015\nTotal TTC 29,99 €\n"
    v = _values(extract(page_from_text(text), "invoice"))
    assert (v["date"], v["due_date"]) == ("2015-07-02", "2015-07-05")


def test_given_totals_labels_read_last_after_their_amounts_when_extracted_then_paired_by_row() -> None:
    """Tesseract may read the amount column of the totals before the labels, which then end the
    page's text: the last label ("Total") has no line after it and must still find its row."""
    page = _boxed_page(
        [
            [(0.1, 0.05, "Purchase order"), (0.6, 0.10, "No.: PO-2024-04879")],
            [(0.1, 0.30, "Qty Unit price Amount"), (0.1, 0.33, "12 1,258.96 15,107.52")],
            [(0.8, 0.60, "$20,415.13"), (0.8, 0.63, "$4,083.03"), (0.8, 0.66, "$24,498.16")],
            [(0.55, 0.60, "Subtotal"), (0.55, 0.63, "Tax 20%"), (0.55, 0.66, "Total")],
        ]
    )
    v = _values(extract(page, "purchase_order"))
    assert (v["subtotal"], v["tax"], v["total"]) == ("20415.13", "4083.03", "24498.16")


def test_given_a_column_of_labels_after_its_amounts_without_boxes_when_extracted_then_paired() -> None:
    text = "Bon de commande\nN°: BC-1\n\n100,00 €\n20,00 €\n120,00 €\n\nTotal HT\nTVA 20%\nTotal TTC\n"
    v = _values(extract(page_from_text(text), "purchase_order"))
    assert (v["subtotal"], v["tax"], v["total"]) == ("100.00", "20.00", "120.00")


def _checks(fields, name: str):  # type: ignore[no-untyped-def]
    return [c for c in fields.checks if c.name == name]


@pytest.mark.parametrize(
    ("dates", "issue", "due"),
    [
        # A confident handwritten "27.01.00" beside the signature makes the page day first;
        # the ISO due date says the issue date is 6 November (net 30), not 11 June.
        ("Date: 11/06/2019\nDue date: 2019-12-06\nSigned 27.01.00", "2019-11-06", "2019-12-06"),
        # The other way round: an unambiguous issue date settles an ambiguous due date that
        # the dollar page's US order would put in June, before it.
        ("Date: 2019-11-06\nDue date: 06/12/2019", "2019-11-06", "2019-12-06"),
    ],
)
def test_given_ambiguous_issue_or_due_date_when_extracted_then_the_due_date_follows_the_issue_date(
    dates: str, issue: str, due: str
) -> None:
    f = extract(page_from_text(f"INVOICE\nNo.: INV-1\n{dates}\nTotal $10.00\n"), "invoice")
    v = _values(f)
    assert (v["date"], v["due_date"]) == (issue, due)
    assert [c.ok for c in _checks(f, "due_after_issue")] == [True]


def test_given_dates_already_in_order_when_extracted_then_no_date_order_check() -> None:
    f = extract(page_from_text("INVOICE\nDate: 04/08/2021\nDue date: May 8, 2021\nTotal $1.00\n"), "invoice")
    assert (_values(f)["date"], _checks(f, "due_after_issue")) == ("2021-04-08", [])


def test_given_due_date_before_an_unambiguous_issue_date_when_extracted_then_a_failed_check() -> None:
    f = extract(page_from_text("INVOICE\nDate: 2021-08-20\nDue date: 2021-07-01\nTotal $1.00\n"), "invoice")
    assert (_values(f)["date"], _values(f)["due_date"]) == ("2021-08-20", "2021-07-01")
    assert [c.ok for c in _checks(f, "due_after_issue")] == [False]


@pytest.mark.parametrize(
    ("text", "date"),
    [
        ("Receipt\nGST No: 0012\nLot $319, 2nd Floor\nDate: 11/12/2017\nTotal 31.45\n", "2017-12-11"),
        ("Tax invoice\nABN 12 004\nGST included\nDate: 04/08/2021\nTotal $12.40\n", "2021-08-04"),
        ("Invoice\nVAT exempt\nDate: 04/08/2021\nTotal 12.40 USD\n", "2021-04-08"),  # written out: US
    ],
)
def test_given_a_bare_dollar_beside_vat_or_gst_when_extracted_then_the_date_is_day_first(
    text: str, date: str
) -> None:
    assert _values(extract(page_from_text(text), "receipt"))["date"] == date


GST_RECEIPT = """SYARIKAT PERNIAGAAN GIN KEE
SIMPLIFIED TAX INVOICE
Doc No : CS00011926 Date: 02/12/2017
3122 1 29.68 29.68 SR
(W833) 105MM/4' CUTTING DISC
Total Qty: 1
Total Sales (Excluding GST) : 28.00
Total GST : 1.68
Total Sales (Inclusive of GST) : {gross}
CASH : 29.68
Change : 0.00
GST SUMMARY
Tax Code % Amt (RM) Tax (RM)
SR 6 28.00 1.68
Total : 28.00 1.68
"""


def test_given_a_gst_summary_below_the_total_when_extracted_then_its_total_row_is_not_the_total() -> None:
    f = extract(page_from_text(GST_RECEIPT.format(gross="29.68")), "receipt")
    assert _values(f)["total"] == "29.68"
    assert {c.name: c.ok for c in f.checks}["total_paid_in_cash"] is True


def test_given_an_unreadable_total_when_cash_less_change_is_printed_elsewhere_then_it_is_the_total_for_review() -> (
    None
):
    f = extract(page_from_text(GST_RECEIPT.format(gross="CSN")), "receipt")
    assert _values(f)["total"] == "29.68"  # not the summary's tax 1.68
    assert f.values["total"].confidence <= 0.6
    check = {c.name: c for c in f.checks}["total_from_cash"]
    assert not check.ok and "cash 29.68 - change 0.00 = 29.68" in check.detail


def test_given_a_rounded_cash_payment_when_extracted_then_the_total_is_what_was_paid() -> None:
    text = "MPH BOOKSTORES\nDate: 11/12/2017\nTotal Amount(incl. GST) 31.47\nRounding -0.02\nCASH 50.00\nCHANGE 18.55\n"
    f = extract(page_from_text(text), "receipt")
    assert _values(f)["total"] == "31.45"
    assert "rounded by -0.02" in {c.name: c for c in f.checks}["total_paid_in_cash"].detail


def test_given_a_rounding_misread_as_a_whole_unit_when_cash_is_checked_then_no_rounding_is_applied() -> None:
    # SROIE 003: "Rounding -0.01" read as "-0 01"; with the change misread (18.10 for 19.10)
    # the total plus "1.00" matched what the cash lines say was paid.
    text = "YONGFATT\nTotal\nclusive of GST) : 80.90\nRounding -0 01\nCASH : 100.00\nChange : 18.10\n"
    f = extract(page_from_text(text), "receipt")
    assert _values(f)["total"] == "80.90"
    assert not {c.name: c for c in f.checks}["total_from_cash"].ok  # for review


def test_given_cash_and_change_that_fit_no_amount_when_extracted_then_the_total_stays_and_a_check_fails() -> (
    None
):
    text = "Shop\nTotal 80.90\nCASH : 100.00\nChange : 18.10\n"  # 19.10 misread
    f = extract(page_from_text(text), "receipt")
    assert _values(f)["total"] == "80.90"
    check = {c.name: c for c in f.checks}["total_from_cash"]
    assert not check.ok and "left as read" in check.detail


def test_given_a_cash_heading_without_an_amount_when_extracted_then_it_is_not_the_money_handed_over() -> None:
    text = "Shop\nCASH\nDoc No CS0001 Date 25/12/2018\nTotal 12.00\nCash 20.00\nChange 8.00\n"
    f = extract(page_from_text(text), "receipt")
    assert {c.name: c.ok for c in f.checks}["total_paid_in_cash"] is True


def test_given_a_rounded_total_printed_below_its_rounding_when_paid_by_card_then_it_is_the_total() -> None:
    text = "Shop\nTotal incl. tax 473.51\nRound off -0.01\nNet total 473.50\nPaid by card **** 4167\n"
    f = extract(page_from_text(text), "receipt")
    assert _values(f)["total"] == "473.50"
    assert {c.name: c.ok for c in f.checks}["total_rounded"] is True


@pytest.mark.parametrize(
    "net_label", ["Total excl. tax", "Total Sales (Excluding GST) :", "Total before tax", "Total hors TVA"]
)
def test_given_a_net_total_named_after_the_tax_when_extracted_then_it_is_not_the_tax(net_label: str) -> None:
    text = f"Shop\n{net_label} 708.90\nTax 5% 35.45\nTotal payable 744.35\n"
    f = extract(page_from_text(text), "receipt")
    assert _values(f)["tax"] == "35.45"
    assert {c.name: c.ok for c in f.checks}["net_plus_tax_equals_total"] is True


def test_given_a_rounded_total_when_net_and_tax_are_checked_then_the_rounding_is_counted() -> None:
    text = "Shop\nSubtotal 21.64\nTVA 20% 4.33\nTotal TTC 25.97\nArrondi -0.02\nTotal arrondi 25.95\n"
    f = extract(page_from_text(text), "receipt")
    assert _values(f)["total"] == "25.95"
    check = {c.name: c for c in f.checks}["net_plus_tax_equals_total"]
    assert check.ok and "-0.02 rounding" in check.detail


def test_given_a_registration_number_read_beside_a_tax_label_when_extracted_then_no_tax_and_a_failed_check() -> (
    None
):
    text = "GARDEN BAKERIES\nGST 10: 600381399040\nTAX INVOICE\nBread 2.78\nTotal 22.58\n"
    f = extract(page_from_text(text), "receipt")
    assert "tax" not in f.values and _values(f)["total"] == "22.58"
    check = {c.name: c for c in f.checks}["tax_read"]
    assert not check.ok and "600381399040" in check.detail


def test_given_a_till_receipt_read_as_an_invoice_when_extracted_then_the_type_fails_against_the_cash_lines() -> (
    None
):
    text = "MR. D.I.Y.\n-TAX INVOICE-\nTotal Incl. GST 50.80\nCash 51.00\nChange 0.20\n"
    check = {c.name: c for c in extract(page_from_text(text), "invoice").checks}["type_fits_payment"]
    assert not check.ok and "read as invoice" in check.detail and "51.00" in check.detail
    assert "type_fits_payment" not in {c.name for c in extract(page_from_text(text), "receipt").checks}
    assert "type_fits_payment" not in {c.name for c in extract(page_from_text(INVOICE_EN), "invoice").checks}


def test_given_a_value_the_extractor_worked_out_when_asked_then_the_page_needs_review() -> None:
    from edge.read.fields import asks_review

    worked_out = extract(page_from_text(GST_RECEIPT.format(gross="CSN")), "receipt")
    assert asks_review(worked_out)
    assert not asks_review(extract(page_from_text(GST_RECEIPT.format(gross="29.68")), "receipt"))


@pytest.mark.parametrize(
    ("top", "merchant"),
    [
        ("21802057 é\nMR. D.I.Y. (M) SDN BHD\n", "MR. D.I.Y. (M) SDN BHD"),  # a number line first
        ("MPH BOOKSTORES\nSDN BHD\nGST No: 000542572544\n", "MPH BOOKSTORES SDN BHD"),  # legal form below
        ("GM\nGutierrez, Miller and Jones\n", "Gutierrez, Miller and Jones"),  # a logo's letters
        ("Cashier: Jessica\nCorner Shop\n", "Corner Shop"),  # a label line
        ("TAX INVOICE\nYONGFATT ENTERPRISE\n", "YONGFATT ENTERPRISE"),  # the title above the shop
        # a person's name above the business's
        ("lee mei ling\nHUAT SENG ENTERPRISE\n(JM0123456-X)\n", "HUAT SENG ENTERPRISE"),
        ("Tan Ah Kow\nSRI MAJU TRADING\n", "SRI MAJU TRADING"),
        ("FACTU U R.\nCoolblue B.V.\n", "Coolblue B.V."),  # a title OCR split into pieces
        ("FACTUUR\nDat betaal ik zelf wel.\nCoolblue B.V.\n", "Coolblue B.V."),  # a slogan above the name
        ("OYO PAYMENT RECEIPT\nOYO 4189 Resort\n", "OYO"),  # the title after the issuer's name
        ("Official Receipt\nKEDAI ANEKA\n", "KEDAI ANEKA"),  # an adjective is part of the title
        ("rom Bernard S.A.S.\n", "Bernard S.A.S."),  # a logo beside the name read as letters
        ("© Dupont Frères\n", "Dupont Frères"),  # ... or as a symbol
        ("Les | Petit S.A.R.L.\n", "Petit S.A.R.L."),  # ... or as a word and a bar
        ("de Vries BV\n", "de Vries BV"),  # a name's particle is no logo
        (
            "amazon\nwebservices\nAmazon Web Services Invoice\n",
            "Amazon Web Services",
        ),  # the name heading the title
    ],
)
def test_given_lines_above_the_shop_name_when_extracted_then_the_merchant_is_the_name(
    top: str, merchant: str
) -> None:
    f = extract(page_from_text(top + "Date: 02/12/2017\nTotal 29.68\n"), "receipt")
    assert _values(f)["merchant"] == merchant


@pytest.mark.parametrize(
    ("doc_type", "key", "body"),
    [
        ("payslip", "employer", "Payslip\nEmployee: Ann Lee\nNet pay 2,100.00\n"),
        ("delivery_note", "seller", "DELIVERY NOTE\nNo.: DN-2024-001\nDate: 02/12/2024\n"),
        ("letter", "sender", "Dear Mr Smith,\nWe write to you.\n"),
        ("mandate", "issuer", "SEPA DIRECT DEBIT MANDATE\nMandate reference: MR-2022-1\n"),
    ],
)
def test_given_a_stray_line_above_the_issuer_when_extracted_then_every_type_takes_the_name(
    doc_type: str, key: str, body: str
) -> None:
    # The seller/merchant rule holds for every type whose issuer heads the page: a logo's
    # letters or a number line above the name are not the name.
    f = extract(page_from_text("Se\n0171 2334 55\nTessier S.A.\n12 rue Haute\n" + body), doc_type)
    assert _values(f)[key] == "Tessier S.A."


def test_given_a_letterhead_whose_name_was_not_read_when_extracted_then_no_address_line_is_the_seller() -> (
    None
):
    # The name in a script font that OCR gave nothing for: its street, town or email line is
    # no issuer, and no seller is better than a wrong one.
    for top in (
        "698 Robin Extensions\nAshleyview, TN 88563\nahoffman@patel.info\n",
        "4, rue Michel François\n20867 Saint Julien\n",
    ):
        f = extract(page_from_text(top + "INVOICE\nNo.: INV-1\nTotal 12.00\n"), "invoice")
        assert "seller" not in _values(f), top


def test_given_a_dutch_invoice_when_extracted_then_net_tax_and_total_are_each_their_own() -> None:
    # A VAT id after the tax word is not a tax, and two "label amount" pairs on one line each
    # keep their own amount (the real coolblue invoice's layout).
    text = (
        "Coolblue B.V.\nBTW NL810433941B01\nFactuurnummer: 993548900\nFactuurdatum: 19 april 2014\n"
        "Exclusief BTW € 593,36 Subtotaal €717,97\nBTW 21% €124,61\nTotaal € 717,97\n"
    )
    f = extract(page_from_text(text), "invoice")
    v = _values(f)
    assert (v["subtotal"], v["tax"], v["total"]) == ("593.36", "124.61", "717.97")
    assert next(c for c in f.checks if c.name == "net_plus_tax_equals_total").ok


@pytest.mark.parametrize(
    ("line", "total"),
    [
        ("Total 3 items 45.00", "45.00"),  # a count before the words is not the pair's amount
        ("Total 12.00 EUR incl. VAT 2.00", "12.00"),  # the tax's pair follows the total's
        ("TOTAL AMOUNT DUE ON August 3 , 2014 $4.11", "4.11"),  # a date's numbers are no amount
    ],
)
def test_given_one_line_with_more_numbers_when_the_total_is_read_then_its_own_amount_is_taken(
    line: str, total: str
) -> None:
    assert _values(extract(page_from_text(f"Shop Ltd\n{line}\n"), "receipt"))["total"] == total


def test_given_an_unread_issue_date_when_extracted_then_the_due_date_is_not_taken_for_it() -> None:
    text = "Chauveau SARL\nFACTURE\nN°:\nDate:\nÉchéance: 7 décembre 2020\nTotal TTC 120,00 €\n"
    v = _values(extract(page_from_text(text), "invoice"))
    assert v.get("due_date") == "2020-12-07" and "date" not in v


def test_given_a_till_receipt_dated_at_the_bottom_when_extracted_then_that_date_is_its_date() -> None:
    text = "Corner Shop\nMilk 1.20\nBread 2.30\nTotal 3.50\nCash 5.00\nChange 1.50\n25/03/2024 14:22\n"
    assert _values(extract(page_from_text(text), "receipt"))["date"] == "2024-03-25"


def test_given_a_rounding_whose_rounded_total_was_not_read_when_extracted_then_the_sum_is_worked_out_for_review() -> (
    None
):
    from edge.read.fields import asks_review

    text = "Leduc SARL\nReçu\nDate: 23/02/2023\nTOTAL TTC 218,13 €\nArrondi 0,02\nTo arron\nMerci !\n"
    f = extract(page_from_text(text), "receipt")
    assert _values(f)["total"] == "218.15"
    assert any(c.name == "total_mended" and not c.ok for c in f.checks) and asks_review(f)
    # A rounding printed above the total: the total read is already the rounded one.
    above = extract(page_from_text("Shop Ltd\nRounding -0.02\nTotal 31.45\n"), "receipt")
    assert _values(above)["total"] == "31.45"


@pytest.mark.parametrize(
    ("doc_type", "top"),
    [
        ("contract", "Consulting agreement\n"),
        ("contract", "RESIDENTIAL LEASE AGREEMENT\n"),
        ("mandate", "Mandat de prélèvement SEPA\n"),
        ("kyc_form", "Ouverture de compte\n"),
    ],
)
def test_given_an_agreement_or_form_title_above_the_issuer_when_extracted_then_the_title_is_no_issuer(
    doc_type: str, top: str
) -> None:
    f = extract(page_from_text(top + "Tessier Conseil\n12 rue Haute\nDate: 2024-03-15\n"), doc_type)
    assert _values(f)["issuer"] == "Tessier Conseil"


def test_given_a_contract_between_two_parties_when_extracted_then_its_issuer_is_the_first_party() -> None:
    text = (
        "Consulting agreement\n"
        "Between Smith LLC (Employer) and Justin Mckinney (Employee), it is agreed as follows.\n"
        "1. Object. The employee shall work.\n"
    )
    v = _values(extract(page_from_text(text), "contract"))
    assert (v["party_a"], v["issuer"]) == ("Smith LLC", "Smith LLC")


def test_given_tax_lines_when_extracted_then_the_rate_is_a_fraction_surer_when_it_fits() -> None:
    en = extract(page_from_text(INVOICE_EN), "invoice")
    fr = extract(page_from_text(FACTURE_FR), "invoice")
    assert (_values(en)["tax_rate"], _values(fr)["tax_rate"]) == ("0.08", "0.2")
    assert en.values["tax_rate"].confidence > 0.8  # 436.50 x 8% is the 34.92 read
    two = "Shop\nTotal HT 100,00\nTVA 5,5% 2,75\nTVA 20% 10,00\nTotal TTC 112,75\n"
    assert "tax_rate" not in _values(extract(page_from_text(two), "receipt"))


def test_given_a_kyc_form_when_extracted_then_customer_birth_date_and_id_document_not_the_page_date() -> None:
    text = (
        "Carson Inc\nAccount opening - identity\nFull name\nKAREN MEZA\nDate of birth\n1969-08-11\n"
        "Nationality\nGabon\nDocument number\nJ83395575\nAddress\n2420 Andrea Groves\nCustomer\n"
    )
    v = _values(extract(page_from_text(text), "kyc_form"))
    assert (v["customer"], v["birth_date"], v["nationality"], v["id_number"]) == (
        "KAREN MEZA",
        "1969-08-11",
        "Gabon",
        "J83395575",
    )
    assert "date" not in v  # the birth date is the only date printed: it is no date of the form


def test_given_a_form_value_not_read_when_extracted_then_the_next_label_is_not_taken() -> None:
    v = _values(extract(page_from_text("Bank\nFull name\nDate of birth\n1969-08-11\n"), "kyc_form"))
    assert "customer" not in v and v["birth_date"] == "1969-08-11"


def _boxes_page(
    lines: list[list[tuple[str, tuple[float, float, float, float]]]], conf: float = 0.9
) -> OcrPage:
    """An A4 page at 200 dpi whose lines hold words with the boxes Tesseract gave them."""
    page = OcrPage(size=(1654, 2339))
    page.blocks.append([])
    for words in lines:
        xs1, ys1, xs2, ys2 = zip(*(b for _t, b in words), strict=True)
        line = Line(
            words=[],
            text=" ".join(t for t, _b in words),
            block=1,
            box=(min(xs1), min(ys1), max(xs2), max(ys2)),
        )
        for text, b in words:
            w = Word(text, conf, b, 1, 1, len(page.lines), len(page.words))
            line.words.append(w.index)
            page.words.append(w)
        page.blocks[0].append(len(page.lines))
        page.lines.append(line)
    return page


def _rows_page(rows: list[tuple[float, list[tuple[float, str]]]]) -> OcrPage:
    """An A4 page at 200 dpi whose lines each hold one or more runs of words: (y, [(x, text)]),
    each word 0.008 of the page wide a character."""
    lines = []
    for y, runs in rows:
        words = []
        for x, text in runs:
            for tok in text.split():
                words.append((tok, (x, y, x + 0.008 * len(tok), y + 0.012)))
                x += 0.008 * (len(tok) + 1)
        lines.append(words)
    return _boxes_page(lines, conf=0.95)


def test_given_a_row_of_labels_read_as_lines_of_their_own_when_extracted_then_the_next_label_still_closes_the_column() -> (
    None
):
    """Tesseract may give each label of a row its own line ("Titulaire du compte", then
    "Adresse"); the address under the second, a pixel higher than the name under the first,
    must not be taken for the account holder."""
    page = _rows_page(
        [
            (0.10, [(0.1, "Mandat de prélèvement SEPA")]),
            (0.275, [(0.10, "Titulaire du compte")]),
            (0.285, [(0.104, "Tristan Schneider de Cohen")]),
            (0.275, [(0.51, "Adresse")]),
            (0.284, [(0.516, "boulevard Boulanger, 64964 Devaux")]),
        ]
    )
    assert _values(extract(page, "mandate"))["debtor"] == "Tristan Schneider de Cohen"


def test_given_a_label_read_short_beside_a_lower_set_label_when_extracted_then_the_whole_value_under_it() -> (
    None
):
    """As OCR read a skewed identity form: "Full name" lost its F, and the box of what was left
    ends well before "name"; the next column's label, a line of its own, sits a little lower."""
    page = _boxes_page(
        [
            [("Account", (0.5, 0.15, 0.56, 0.16)), ("opening", (0.565, 0.15, 0.63, 0.16))],
            [("‘ull", (0.093, 0.197, 0.102, 0.202)), ("name", (0.115, 0.198, 0.147, 0.202))],
            [("Michelle", (0.092, 0.207, 0.156, 0.215)), ("Combs", (0.163, 0.206, 0.217, 0.215))],
            [
                ("Date", (0.504, 0.196, 0.53, 0.202)),
                ("of", (0.535, 0.191, 0.545, 0.206)),
                ("birth", (0.542, 0.193, 0.579, 0.202)),
            ],
            [
                ("September", (0.508, 0.207, 0.593, 0.218)),
                ("13,", (0.601, 0.207, 0.622, 0.216)),
                ("1956", (0.632, 0.207, 0.67, 0.215)),
            ],
        ]
    )
    v = _values(extract(page, "kyc_form"))
    assert (v["customer"], v["birth_date"]) == ("Michelle Combs", "1956-09-13")


def test_given_a_mandate_whose_holder_label_lost_its_start_when_extracted_then_the_debtor_is_still_read() -> (
    None
):
    page = page_from_text("SEPA DIRECT DEBIT MANDATE\ncount holder\nErin Rice\nAddress\n1 Powell Skyway\n")
    assert _values(extract(page, "mandate"))["debtor"] == "Erin Rice"
    page = page_from_text("Mandat de prélèvement SEPA\nTtulaire du compte\nCéline Lacroix\nAdresse\n")
    assert _values(extract(page, "mandate"))["debtor"] == "Céline Lacroix"


def test_given_a_row_of_labels_over_a_row_of_values_when_extracted_then_each_value_from_its_column() -> None:
    """A form's two boxes side by side: the reading order joins both labels into one line and
    both values into the next; the word boxes split them by column."""
    page = _rows_page(
        [
            (0.10, [(0.1, "Mandat de prélèvement SEPA")]),
            (0.13, [(0.1, "ICS: FRO5ZZZ678726")]),
            (0.30, [(0.06, "Titulaire du compte"), (0.5, "Adresse")]),
            (0.32, [(0.07, "MICHELE VERDIER"), (0.5, "3 rue Haute, Lyon")]),
            (0.36, [(0.06, "IBAN"), (0.5, "BIC")]),
            (0.38, [(0.07, "FR76 3000 6000 0112 3456 7890 189"), (0.5, "AGRIFRPP")]),
        ]
    )
    f = extract(page, "mandate")
    v = _values(f)
    assert (v["debtor"], v["bic"], v["creditor_id"]) == ("MICHELE VERDIER", "AGRIFRPP", "FR05ZZZ678726")
    checks = {c.name: c.ok for c in f.checks}
    assert checks["creditor_id_checksum"] and checks["bic_valid"]


def test_given_a_payslip_when_extracted_then_its_pay_period_as_a_month() -> None:
    text = "Dupont SA\nBULLETIN DE PAIE\nSalarié: Marie Curie\nPériode: octobre 2023\nSalaire brut 3 200,00 €\nNet à payer 2 480,00 €\n"
    assert _values(extract(page_from_text(text), "payslip"))["period"] == "2023-10"


def test_given_a_letter_greeting_no_one_by_name_when_extracted_then_the_addressee_block_and_the_signer() -> (
    None
):
    text = (
        "Martel S.A.S.\n\n64, boulevard de Perret\n23551 Paul\n07 58 95 49 26\n\n"
        "Camille de Picard\nchemin de Gaillard\n31603 Bailly\n\n"
        "Saint Philippine, 08/11/2019\nObjet: Relance\n\nMadame, Monsieur,\n\nNous vous écrivons.\n\n"
        "Cordialement,\n\nAudrey Rolland\n"
    )
    v = _values(extract(page_from_text(text), "letter"))
    assert (v["sender"], v["recipient"], v["signer"]) == (
        "Martel S.A.S.",
        "Camille de Picard",
        "Audrey Rolland",
    )


def test_given_a_letter_greeting_its_addressee_when_extracted_then_the_name_without_what_ocr_ran_into_it() -> (
    None
):
    text = (
        'Acme Ltd\n1 High Street\n\nDear Erin Williams, °°". : ‘ é\n\nWe write.\n\nKind regards,\nJo Bloggs\n'
    )
    v = _values(extract(page_from_text(text), "letter"))
    assert (v["recipient"], v["signer"]) == ("Erin Williams", "Jo Bloggs")


def test_given_a_purchase_order_when_extracted_then_its_issuer_is_the_buyer_and_the_vendor_the_seller() -> (
    None
):
    text = (
        "Myers, Wells and James\n536 Harrison Manors\n\nPURCHASE ORDER\nNo.: 202506-7245\nDate: 2020-04-10\n\n"
        "Vendor.\nCassandra Parrish\n27691 Duarte Rapid\n\nShip to\nMyers, Wells and James\n\nTotal 108.20 USD\n"
    )
    v = _values(extract(page_from_text(text), "purchase_order"))
    assert (v["buyer"], v["seller"]) == ("Myers, Wells and James", "Cassandra Parrish")


def test_given_a_logo_read_as_a_letter_before_the_name_when_extracted_then_the_issuer_without_it() -> None:
    page = _rows_page([(0.08, [(0.08, "A"), (0.20, "Jenkins and Sons")]), (0.12, [(0.2, "12 High Street")])])
    assert _values(extract(page, "delivery_note"))["seller"] == "Jenkins and Sons"
    # A name that opens with a word of one letter, set as a word, keeps it.
    close = _rows_page([(0.08, [(0.08, "A Better Way Ltd")]), (0.12, [(0.08, "12 High Street")])])
    assert _values(extract(close, "delivery_note"))["seller"] == "A Better Way Ltd"


@pytest.mark.parametrize("title", ["NOTICE", "NOTE DE SERVICE", "Compte rendu de réunion", "Memorandum"])
def test_given_an_office_note_whose_issuer_was_not_read_when_extracted_then_its_title_is_no_issuer(
    title: str,
) -> None:
    text = f"527 Salinas Fords Suite 471\n{title}\nDate: 01/21/2024\nFrom: Kayla Ramos\n"
    assert "issuer" not in _values(extract(page_from_text(text), "other"))


def test_given_a_kyc_form_read_with_its_labels_misspelt_and_a_logo_as_a_digit_when_extracted_then_no_title_or_birth_date_taken_amiss() -> (
    None
):
    page = _rows_page(
        [
            (0.05, [(0.08, "4"), (0.20, "Banks and Sons")]),
            (0.08, [(0.2, "3575 Megan Shores Suite 784")]),
            (0.15, [(0.3, "KNOW YOUR CUSTOMER (KYC) FORM")]),
            (0.20, [(0.1, "Ful name")]),
            (0.22, [(0.1, "Melanie Grimes")]),
            (0.26, [(0.1, "Date of buth")]),
            (0.28, [(0.1, "1949-08-23")]),
        ]
    )
    v = _values(extract(page, "kyc_form"))
    assert (v["issuer"], v["customer"], v["birth_date"]) == ("Banks and Sons", "Melanie Grimes", "1949-08-23")
    assert "date" not in v


def test_given_a_kyc_form_whose_birth_label_was_not_read_when_extracted_then_its_first_date_is_the_birth_date_unsure() -> (
    None
):
    from edge.read.fields import KYC_BIRTH_UNLABELLED

    # the small brown label read as noise: the date under it has no label at all
    text = "Carson Inc\nAccount opening - identity\nFull name\nKAREN MEZA\nDte ot hrth\n1969-08-11\nNationality\nGabon\n"
    fields = extract(page_from_text(text), "kyc_form")
    assert _values(fields)["birth_date"] == "1969-08-11"
    assert fields.values["birth_date"].confidence == KYC_BIRTH_UNLABELLED < 0.5  # a person confirms it
    assert "date" not in fields.values  # an identity form's own date is labelled
    # ... and a labelled form date is still the form's
    dated = text + "Date: 2021-06-19\n"
    v = _values(extract(page_from_text(dated), "kyc_form"))
    assert (v["date"], v["birth_date"]) == ("2021-06-19", "1969-08-11")
    # ... nor taken for the birth date when it is printed first and that label was not read
    first = "Carson Inc\nDate: 2021-06-19\nFull name\nKAREN MEZA\nDte ot hrth\n"
    v = _values(extract(page_from_text(first), "kyc_form"))
    assert v["date"] == "2021-06-19" and "birth_date" not in v
    v = _values(extract(page_from_text(first + "1969-08-11\nNationality\nGabon\n"), "kyc_form"))
    assert (v["date"], v["birth_date"]) == ("2021-06-19", "1969-08-11")
    # an invoice keeps its unlabelled first date
    assert (
        _values(extract(page_from_text("Shop\nINVOICE\n2021-06-19\nTotal 10.00\n"), "invoice"))["date"]
        == "2021-06-19"
    )


def test_given_a_mandate_whose_iban_fails_its_check_digits_when_extracted_then_it_asks_review_an_invoice_not() -> (
    None
):
    from edge.read.fields import asks_review

    bad = "Mandat de prélèvement SEPA\nICS: FR72ZZZ123456\nIBAN: FR76 3000 6000 0112 3456 7890 188\n"
    good = bad.replace("188", "189")
    assert asks_review(extract(page_from_text(bad), "mandate"), "mandate")
    assert not asks_review(extract(page_from_text(good), "mandate"), "mandate")
    assert not asks_review(extract(page_from_text(bad), "invoice"), "invoice")
    wrong_ics = good.replace("FR72", "FR73")
    assert asks_review(extract(page_from_text(wrong_ics), "mandate"), "mandate")


@pytest.mark.parametrize("greeting", ["Dear Sir or Madam,", "Dear Sir/Madam,", "Dear valued customer,"])
def test_given_a_letter_greeting_no_one_when_extracted_then_the_greeting_is_no_recipient(
    greeting: str,
) -> None:
    text = f"Acme Ltd\n1 High Street\n\nJo Smith\n2 Low Road\n\n{greeting}\n\nWe write.\n"
    assert _values(extract(page_from_text(text), "letter"))["recipient"] == "Jo Smith"


def test_given_an_id_number_whose_first_letter_ocr_set_apart_when_extracted_then_one_number() -> None:
    text = "Lecoq\nFORMULAIRE KYC\nNuméro de pièce\n[s 12414229\n"
    assert _values(extract(page_from_text(text), "kyc_form"))["id_number"] == "S12414229"


def test_given_a_contract_with_a_labelled_monthly_amount_when_extracted_then_its_total_and_currency() -> None:
    text = (
        "CONTRAT DE TRAVAIL\nEntre Dupré Joly S.A.R.L. (L'employeur) et Nicolas Joseph (Le salarié), il a été convenu.\n"
        "Le montant de la prime sera de 10 % du salaire.\nMontant mensuel : 946,55 €\n"
    )
    v = _values(extract(page_from_text(text), "contract"))
    assert (v["total"], v["currency"]) == ("946.55", "EUR")
    clause = "Consulting agreement\nBetween A Ltd and B Ltd, it is agreed.\nThe fee shall be paid within 30 days.\n"
    assert "total" not in _values(extract(page_from_text(clause), "contract"))


@pytest.mark.parametrize("label", ["Livrer à", "Livrera", "Deliver to", "Destinataire"])
def test_given_a_delivery_note_addressee_label_as_printed_or_run_together_when_extracted_then_the_buyer(
    label: str,
) -> None:
    text = f"Guillot SARL\n56, avenue Jacquot\nBon de livraison\nN°: BL-2023-75151\n{label}\nTurpin\n8, rue Baron\n"
    assert _values(extract(page_from_text(text), "delivery_note"))["buyer"] == "Turpin"


def test_given_a_speck_read_after_the_issuer_name_when_extracted_then_the_name_alone() -> None:
    text = "Nicolas °\n12, rue Haute\nBon de livraison\nN°: BL-2020-23032\n"
    assert _values(extract(page_from_text(text), "delivery_note"))["seller"] == "Nicolas"


def test_given_a_form_value_holding_the_word_name_when_extracted_then_it_is_still_a_value() -> None:
    text = "Bank\nMandat de prélèvement SEPA\nTitulaire du compte\nNom Dupont\n"
    assert _values(extract(page_from_text(text), "mandate"))["debtor"] == "Nom Dupont"


def test_given_an_identity_form_whose_number_is_a_smudge_when_extracted_then_it_is_no_id_number() -> None:
    smudge = _values(
        extract(page_from_text("Bank\nAccount opening - identity\nDocument number\n17\n"), "kyc_form")
    )
    assert "id_number" not in smudge
    numbered = _values(extract(page_from_text("Bank\nAccount opening\nNuméro\nK54091133\n"), "kyc_form"))
    assert numbered["id_number"] == "K54091133"  # "Numéro" alone: the page's one number is the ID's


def test_given_the_next_box_label_mangled_beside_a_label_when_extracted_then_the_value_under_the_label_is_taken() -> (
    None
):
    """ "Adresse" read as "resse ue" on the holder label's line, a column's gap to its right: it is
    no name written after the label; the name under the label is the holder."""
    page = _boxes_page(
        [
            [("Mandat", (0.1, 0.10, 0.15, 0.11)), ("SEPA", (0.155, 0.10, 0.2, 0.11))],
            [
                ("itulaire", (0.115, 0.295, 0.161, 0.301)),
                ("-", (0.165, 0.297, 0.168, 0.299)),
                ("u", (0.175, 0.295, 0.183, 0.3)),
                ("compte", (0.188, 0.294, 0.233, 0.303)),
                ("resse", (0.523, 0.295, 0.555, 0.301)),
                ("ue", (0.56, 0.295, 0.575, 0.301)),
            ],
            [
                ("Gabrielle", (0.112, 0.305, 0.19, 0.315)),
                ("Roche", (0.197, 0.305, 0.25, 0.315)),
                ("77,", (0.509, 0.305, 0.53, 0.315)),
                ("rue", (0.535, 0.305, 0.56, 0.315)),
            ],
        ]
    )
    assert _values(extract(page, "mandate"))["debtor"] == "Gabrielle Roche"
    # a value printed after its label on the same line, close by, is still taken first
    near = page_from_text("Mandat SEPA\nTitulaire du compte: Thomas Leconte\nAdresse\n")
    assert _values(extract(near, "mandate"))["debtor"] == "Thomas Leconte"


@pytest.mark.parametrize(
    ("sentence", "a", "b"),
    [
        (
            "Between Simmons, Elliott and Berger (Employer) and Theresa Farley (Employee), it is agreed as follows.",
            "Simmons, Elliott and Berger",
            "Theresa Farley",
        ),
        (
            "Entre Dupont et Fils (Le fournisseur) et Marie Curie (Le client), il a été convenu",
            "Dupont et Fils",
            "Marie Curie",
        ),
        (
            "This agreement is made between Acme Ltd and John Smith, dated 1 May 2020.",
            "Acme Ltd",
            "John Smith",
        ),
    ],
)
def test_given_a_contract_whose_party_names_hold_and_when_extracted_then_the_roles_in_brackets_split_them(
    sentence: str, a: str, b: str
) -> None:
    v = _values(extract(page_from_text(f"AGREEMENT\n{sentence}\nArticle 1 - Terms\n"), "contract"))
    assert (v["party_a"], v["party_b"]) == (a, b)


def test_given_party_labels_beside_each_other_or_a_client_number_when_extracted_then_no_label_or_number_is_a_party() -> (
    None
):
    po = "Hamilton PLC\n747 Debbie Dale\nPurchase order\nNo.: PO594475\nVendor | Ship to .\nSarah Finley\n272 Griffin Inlet\n"
    assert _values(extract(page_from_text(po), "purchase_order"))["seller"] == "Sarah Finley"
    inv = "Guichard SARL\n97, rue Duhamel\nFACTURE\nN°: FAC-2019-63253\nId. client: W11544849\nFacturer à\nCousin\n"
    assert _values(extract(page_from_text(inv), "invoice"))["buyer"] == "Cousin"
    assert (
        _values(extract(page_from_text("Shop\nINVOICE\nClient: Marie Curie\n"), "invoice"))["buyer"]
        == "Marie Curie"
    )


def test_given_a_speck_before_an_address_at_the_top_when_extracted_then_the_address_is_no_issuer() -> None:
    # ":" read from a speck far left of "527 Salinas ...": not a logo, so the house number stays
    page = _boxes_page(
        [
            [
                (":", (0.03, 0.069, 0.033, 0.075)),
                ("527", (0.103, 0.069, 0.13, 0.078)),
                ("Salinas", (0.135, 0.069, 0.19, 0.078)),
                ("Fords", (0.195, 0.069, 0.23, 0.078)),
                ("Suite", (0.235, 0.069, 0.27, 0.078)),
                ("471", (0.275, 0.069, 0.3, 0.078)),
            ],
            [
                ("Jenniferbury,", (0.152, 0.127, 0.25, 0.136)),
                ("NM", (0.255, 0.127, 0.28, 0.136)),
                ("43337", (0.285, 0.127, 0.33, 0.136)),
            ],
            [("NOTICE", (0.43, 0.16, 0.5, 0.172))],
        ]
    )
    assert "issuer" not in _values(extract(page, "other"))


def test_given_a_letter_read_as_one_heading_block_when_extracted_then_the_addressee_is_the_name_over_an_address() -> (
    None
):
    text = (
        "Renaud\n39, rue de Baudry\n23980 Mary-sur-Riou\nVincent Valette\n32, chemin Louise Dijoux\n65780 Hamel\n"
        "Le Goff, 22/02/2020\nObjet: Effacer sembler mon verre\nMadame, Monsieur,\n"
        "Souffrir creuser mari bientôt comment fleur achever apercevoir madame remonter obtenir faire\n"
        "Veuillez agréer nos salutations distinguées.\nAlice Boulanger x\n"
    )
    v = _values(extract(page_from_text(text), "letter"))
    # no blank line: the whole letter is one block, as Tesseract may give a heading with its body
    assert (v["sender"], v["recipient"], v["signer"]) == ("Renaud", "Vincent Valette", "Alice Boulanger")


def test_given_a_note_between_closing_and_name_when_extracted_then_the_signer_is_the_name() -> None:
    text = "Francis-Mcneil\n11815 Brown Trail\nDear Jorge Hancock,\nWe write to you.\nKind regards,\nSee attached\nDebra Boyd\n"
    assert _values(extract(page_from_text(text), "letter"))["signer"] == "Debra Boyd"


@pytest.mark.parametrize(
    ("top", "issuer"),
    [
        ("avenue de Lefort\n42100 Lefort", None),  # the sender's name lost, the street's number too
        ("Unit 3813 Box 5706\nDPO AE 15080", None),
        ("Rue du Commerce SAS\n12 rue de Paris", "Rue du Commerce SAS"),  # a company named after a street
    ],
)
def test_given_address_lines_whose_number_was_lost_when_extracted_then_they_are_no_issuer(
    top: str, issuer: str | None
) -> None:
    v = _values(extract(page_from_text(f"{top}\nNOTICE\nDate: 01/21/2024\nFrom: Kayla Ramos\n"), "other"))
    assert v.get("issuer") == issuer


def test_given_a_tax_figure_ocr_garbled_or_lost_when_the_rate_vouches_then_the_tax_is_the_total_less_the_net() -> (
    None
):
    page = (
        "Thibault\nFACTURE\nN°: FAC-2020-93534\nTotal HT 34 389,54 €\nTVA 20% S77, 91e\nTotal TTC 41267,45€\n"
    )
    for text in (page, page.replace(" S77, 91e", "")):
        f = extract(page_from_text(text), "invoice")
        assert (f.values["tax"].value, f.values["tax_rate"].value) == ("6877.91", "0.2")
        assert not {c.name: c for c in f.checks}["tax_mended"].ok  # a person confirms it
    # a rate that does not give total less net vouches for nothing
    f = extract(page_from_text(page.replace("TVA 20%", "TVA 10%")), "invoice")
    assert f.values.get("tax") is None or f.values["tax"].value != "6877.91"


def test_given_a_payslip_net_label_run_together_when_extracted_then_the_net_pay_is_read() -> None:
    v = _values(
        extract(page_from_text("Bulletin de paie\nSalaire brut 8 037,40\nNetàpayer 6557,71€\n"), "payslip")
    )
    assert v["total"] == "6557.71"


@pytest.mark.parametrize(
    ("heading", "date"),
    [
        (
            "04/13/2002 New Joestad, OH 47569\nEast Edwinberg, 04/29/2020",
            "2020-04-29",
        ),  # an address that reads as a date first
        ("39, rue de Baudry\nParis, le 12 mars 2024", "2024-03-12"),
        ("Date: 2020-02-01\nLondon, 2021-03-04", "2020-02-01"),  # a labelled date still comes first
    ],
)
def test_given_a_letter_dated_after_its_place_when_extracted_then_that_is_its_date(
    heading: str, date: str
) -> None:
    v = _values(
        extract(page_from_text(f"Watts and Sons\n{heading}\nSubject: Terms\nDear Bob,\nThanks.\n"), "letter")
    )
    assert v["date"] == date


BON_DE_COMMANDE = """Rolland Duval et Fils
94, boulevard Bernard Richard
SIRET 850 895 103 00982
BON DE COMMANDE
N°: 202501-4984
Date: 30 janvier 2023
Réf. commande: REF718008
Fournisseur
Valentin
+33 (0)4 69 85 18 20
Désignation Qté Prix unitaire Montant
Armoire de classement - Différent 3 246,57 739,71
Traiteur 3 526,94 1 580,82
Licence logiciel =. 2. 558,02 1 116,04
Total HT - 3 436,57 €
TVA 20% 687,31 €
Total TTC 4 123,88 €
"""


def test_given_a_title_naming_a_column_word_when_extracted_then_rows_start_under_the_table_header() -> None:
    # "BON DE COMMANDE" holds "commande", one of the header's words: taken for the table header,
    # it made the rows start above the page's date, whose label then closed the table at once.
    f = extract(page_from_text(BON_DE_COMMANDE), "purchase_order")
    rows = [(it.quantity, it.unit_price, it.amount) for it in f.line_items]
    # the phone number and the SIRET are not rows; a quantity read with a speck ("2.") is read
    assert rows == [(3, 246.57, 739.71), (3, 526.94, 1580.82), (2, 558.02, 1116.04)]
    assert not [c for c in f.checks if c.name == "line_item_arithmetic"]
    # the dash before the net is a leader: net + tax = total once it is read unsigned
    assert f.values["subtotal"].value == "3436.57"
    assert {c.name: c.ok for c in f.checks}["net_plus_tax_equals_total"] is True
    assert {c.name: c.ok for c in f.checks}["line_items_sum"] is True


def test_given_a_table_header_split_over_two_lines_when_extracted_then_rows_start_under_both() -> None:
    text = BON_DE_COMMANDE.replace(
        "Désignation Qté Prix unitaire Montant", "Désignation\nQté Prix unitaire Montant"
    )
    f = extract(page_from_text(text), "purchase_order")
    assert [it.amount for it in f.line_items] == [739.71, 1580.82, 1116.04]


def test_given_a_negative_net_that_does_not_add_up_unsigned_when_extracted_then_it_stays_negative() -> None:
    # a credit: net, tax and total all negative add up as printed and are left so
    text = BON_DE_COMMANDE.replace("Total HT - 3 436,57", "Total HT -3 436,57").replace(
        "Total TTC 4 123,88", "Total TTC 4 000,00"
    )
    f = extract(page_from_text(text), "purchase_order")
    assert f.values["subtotal"].value == "-3436.57"
    assert {c.name: c.ok for c in f.checks}["net_plus_tax_equals_total"] is False


def test_given_a_credit_note_whose_negative_figures_add_up_when_extracted_then_they_stay_negative() -> None:
    text = BON_DE_COMMANDE.replace("Total HT - 3 436,57", "Total HT -3 436,57")
    text = text.replace("TVA 20% 687,31", "TVA 20% -687,31").replace(
        "Total TTC 4 123,88", "Total TTC -4 123,88"
    )
    f = extract(page_from_text(text), "purchase_order")
    assert [f.values[k].value for k in ("subtotal", "tax", "total")] == ["-3436.57", "-687.31", "-4123.88"]
    assert {c.name: c.ok for c in f.checks}["net_plus_tax_equals_total"] is True


def test_given_a_delivery_note_when_extracted_then_rows_give_the_quantity_ordered_and_a_short_delivery_is_named() -> (
    None
):
    text = """Case Group
DELIVERY NOTE
No.: DN-2025-8004
Date: 11/06/2025
Description Ordered Delivered
Maintenance visit 1 1
Software licence - Help 19.5 19.5
Desk lamp 4 0
Received in good condition by
"""
    f = extract(page_from_text(text), "delivery_note")
    assert [(it.description, it.quantity, it.unit_price, it.amount) for it in f.line_items] == [
        ("Maintenance visit", 1, None, None),
        ("Software licence - Help", 19.5, None, None),
        ("Desk lamp", 4, None, None),
    ]
    short = [c for c in f.checks if c.name == "delivered_as_ordered"]
    assert [(c.ok, c.detail) for c in short] == [(False, "Desk lamp: 0 delivered of 4 ordered")]
    from edge.read.fields import asks_review

    assert not asks_review(f, "delivery_note")  # a short delivery is news, not a misreading


def test_given_a_row_whose_quantity_was_not_read_when_extracted_then_it_is_worked_out_and_said() -> None:
    text = INVOICE_EN.replace("Toner cartridge 3 45.50 136.50", "Toner cartridge 45.50 136.50")
    f = extract(page_from_text(text), "invoice")
    toner = f.line_items[1]
    assert (toner.quantity, toner.unit_price, toner.amount) == (3, 45.5, 136.5)
    assert toner.confidence < f.line_items[0].confidence
    checks = {c.name: c for c in f.checks}
    assert checks["line_item_inferred"].ok is False
    assert checks["line_item_inferred"].detail == "Toner cartridge: quantity not read; 3 × 45.50 = 136.50"
    assert checks["line_items_sum"].ok is True


TICKET = """Ticket client
N° de ticket: 9532-756283
Date: 21 novembre 2021 18:01
Article Qté Montant
Câble USB-C 20 712,60
Traiteur 2 , 2756
Support ordinateur - A 20 - 531,40
Visite de maintenance 6 19656
Total HT 1 468,12 €
TVA 20% 293,62 €
Total TTC 1 761,74 €
"""


def test_given_amounts_that_lost_their_decimal_comma_when_the_rows_then_add_up_then_they_are_mended_and_said() -> (
    None
):
    f = extract(page_from_text(TICKET), "receipt")
    assert [(it.quantity, it.amount) for it in f.line_items] == [
        (20, 712.6),
        (2, 27.56),
        (20, 531.4),
        (6, 196.56),
    ]
    mended = [c.detail for c in f.checks if c.name == "line_item_mended"]
    assert mended == [
        "Traiteur: amount read as 2756; the rows add up to 1468.12 with 27.56",
        "Visite de maintenance: amount read as 19656; the rows add up to 1468.12 with 196.56",
    ]
    assert {c.name: c.ok for c in f.checks}["line_items_sum"] is True
    assert f.line_items[1].confidence < f.line_items[0].confidence


def test_given_rows_that_do_not_add_up_however_read_when_extracted_then_no_amount_is_changed() -> None:
    f = extract(page_from_text(TICKET.replace("Total HT 1 468,12", "Total HT 1 500,00")), "receipt")
    assert [it.amount for it in f.line_items] == [712.6, 2756, 531.4, 19656]
    assert not [c for c in f.checks if c.name == "line_item_mended"]
    assert {c.name: c.ok for c in f.checks}["line_items_sum"] is False


def test_given_a_delivery_note_with_one_quantity_read_on_some_rows_when_extracted_then_it_is_the_rows_quantity() -> (
    None
):
    text = """Bon de livraison
N°: BL593005
Date: 18 septembre 2025
Désignation
Commandé Livré
Câble USB-C - Ensemble 10! 10
Frais de port 12)
Chaise de bureau 0
Reçu en bon état par
Témoin 1
Date:
"""
    f = extract(page_from_text(text), "delivery_note")
    # a lone 0 is no quantity ordered; the witness under the table is no row
    assert [(it.description, it.quantity, it.amount) for it in f.line_items] == [
        ("Câble USB-C - Ensemble", 10, None),
        ("Frais de port", 12, None),
    ]
    assert not [c for c in f.checks if c.name == "delivered_as_ordered"]


def test_given_iban_and_bic_boxes_whose_labels_were_not_read_when_extracted_then_the_bic_beside_the_iban() -> (
    None
):
    text = """MANDAT DE PRÉLÈVEMENT SEPA
Référence unique du mandat: RUM-2023-81041
ICS: FR96ZZZ253586
Gabrielle Roche 77, rue Barthelemy, 56253 Pasquier
[i IC
FR76 3000 6000 0112 3456 7890 189 XXVCFR2X
"""
    f = extract(page_from_text(text), "mandate")
    assert _values(f)["bic"] == "XXVCFR2X"
    # a BIC of another country beside it is not taken for the debtor's
    other = extract(page_from_text(text.replace("XXVCFR2X", "XXVCDE2X")), "mandate")
    assert "bic" not in _values(other)


@pytest.mark.parametrize(
    ("name_x", "address_x", "issuer"),
    [
        # the letterhead's block starts at the name's second word: the mark left of it is a logo
        (0.09, 0.18, "Young-Love"),
        (0.12, 0.197, "Walsh PLC"),
        # the address lines up under the name's first word: it is part of the name
        (0.09, 0.09, "A Better Way Ltd"),
    ],
)
def test_given_a_mark_left_of_a_letterheads_block_when_extracted_then_it_is_no_part_of_the_issuer(
    name_x: float, address_x: float, issuer: str
) -> None:
    name = {"Young-Love": "A Young-Love", "Walsh PLC": "Way Walsh PLC"}.get(issuer, issuer)
    mark, rest = name.split(maxsplit=1)
    page = _rows_page(
        [
            (0.05, [(name_x, mark), (address_x if issuer != name else name_x + 0.016, rest)]),
            (0.08, [(address_x, "3188 Randall Pines")]),
            (0.10, [(address_x, "Janicefurt, NM 21805")]),
            (0.20, [(0.4, "NOTICE")]),
        ]
    )
    assert _values(extract(page, "other"))["issuer"] == issuer


def test_given_a_tax_label_run_into_a_rate_read_as_letters_when_extracted_then_the_tax_and_its_rate() -> None:
    # "TVA 5,5%" read as "TVAS.S%": the label runs into its rate, whose fives read as S
    text = FACTURE_FR.replace("TVA 20% 1 681,42 €", "TVAS.S% 462,39 €").replace("10 088,54", "8 869,51")
    f = extract(page_from_text(text), "invoice")
    assert _values(f)["tax"] == "462.39" and _values(f)["tax_rate"] == "0.055"
    assert {c.name: c.ok for c in f.checks}["net_plus_tax_equals_total"] is True
    # a word that only starts like a label is left alone
    assert (
        _values(extract(page_from_text(text.replace("TVAS.S%", "TAXIS 5%")), "invoice")).get("tax_rate")
        != "0.055"
    )
