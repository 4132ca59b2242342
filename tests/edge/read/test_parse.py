"""Value normalisers: dates, amounts, currencies and IBANs in the spellings paperwork uses."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from edge.read import parse
from edge.read.tables import parse_row, to_decimal


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("Date: 2024-03-15", "2024-03-15"),
        ("15/03/2024", "2024-03-15"),
        ("15.03.2024", "2024-03-15"),
        ("15-03-24", "2024-03-15"),
        ("le 5 janvier 2025", "2025-01-05"),
        ("1er mars 2024", "2024-03-01"),
        ("Fait à Lyon, le 12 février 2023", "2023-02-12"),
        ("3 août 2022", "2022-08-03"),
        ("19 april 2014", "2014-04-19"),
        ("March 5, 2024", "2024-03-05"),
        ("Mar. 5 2024", "2024-03-05"),
        ("December 31st, 2019", "2019-12-31"),
        ("5 Sept 2021", "2021-09-05"),
        ("25/12/2018", "2018-12-25"),
        # a month's name with one letter misread by OCR
        ("Date: Augusl 11, 2022 13:29", "2022-08-11"),
        ("Augus! 11, 2022 13:79", "2022-08-11"),  # its last letter read as "!"
        ("le 12 janvler 2021", "2021-01-12"),
        ("3 Octobcr 2020", "2020-10-03"),
        ("Septembr 9, 2019", "2019-09-09"),
        ("Date: 31 mei 2020 i", "2020-05-31"),  # a short name: mai and may are both May
        # thermal receipt print, its spaces read as dots
        ("Date: 20 Jjanvier.2020.-15313", "2020-01-20"),
        ("Date: 14,novembre,2025 10:22", "2025-11-14"),
        ("Date : 19:11:2020=09:57:,", "2020-11-19"),  # both dots read as colons
        ("Date: 19,11,2020 09:57", "2020-11-19"),
        ("Date: 8 Julliet 2022", "2022-07-08"),  # two letters off a long name
    ],
)
def test_given_a_printed_date_when_parsed_then_iso(text: str, iso: str) -> None:
    assert parse.parse_date(text) == iso


def test_given_ambiguous_numeric_date_when_month_first_then_us_order() -> None:
    assert parse.parse_date("04/08/2021", month_first=True) == "2021-04-08"
    assert parse.parse_date("04/08/2021", month_first=False) == "2021-08-04"
    # only one reading is a date: it wins whatever the preference
    assert parse.parse_date("03/25/2024", month_first=False) == "2024-03-25"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "no date here",
        "31/02/2024",
        "99/99/9999",
        "Total 1 234,50",
        "Order 12 items 2024",  # a word in the month's place that is no month
        "Maria 12, 2020",  # two letters from March
        "31 juine 2021",  # read as June, which has no 31st
        "12 jon 2020",  # as far from jan as from jun
        "The 12 men 2020",
        "Date: 8 juillet 2522",  # a misread year whose century cannot be told
        "Date: 8 juillet 3022",
        "01/02/1850",
        "12:30:45",  # a time
        "Total 1,234,2020",
    ],
)
def test_given_no_valid_date_when_parsed_then_none(text: str) -> None:
    assert parse.parse_date(text) is None


@pytest.mark.parametrize(
    ("text", "iso", "printed"),
    [
        ("Date: 8 juillet 2922", "2022-07-08", "2922"),
        ("8 mars 2623 16:06", "2023-03-08", "2623"),
        ("12/05/2819", "2019-05-12", "2819"),
    ],
)
def test_given_a_year_whose_zero_was_misread_when_parsed_then_the_century_is_mended_and_said(
    text: str, iso: str, printed: str
) -> None:
    assert parse.parse_date(text) == iso
    assert parse.misread_year(text, iso) == printed
    assert parse.misread_year("Date: 8 juillet 2022", "2022-07-08") is None
    assert parse.misread_year("12/03/23 1530 #4471", "2023-03-12") is None  # a two-digit year, a time


def test_given_a_date_with_a_mended_year_when_extracted_then_the_page_goes_to_review() -> None:
    from edge.read.fields import asks_review, extract
    from edge.read.ocr import page_from_text

    f = extract(page_from_text("Shop SARL\nREÇU\nDate: 8 mars 2623 16:06\nTotal TTC 186,89 €\n"), "receipt")
    assert f.values["date"].value == "2023-03-08" and f.values["date"].confidence < 0.7
    assert any(c.name == "year_misread" and not c.ok and "2623" in c.detail for c in f.checks)
    assert asks_review(f)


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("Total: 1.234,56 €", "1234.56"),
        ("Total: 1,234.56", "1234.56"),
        ("Total TTC 1 234,56 €", "1234.56"),
        ("Total TTC 1\u202f234,56\u00a0€", "1234.56"),
        ("$12.5", "12.50"),
        ("Grand Total Rs 1939", "1939.00"),
        ("EUR 717,97", "717.97"),
        ("Balance (12.50)", "-12.50"),
        ("Discount -3.20", "-3.20"),
        ("Total 12 345 678,90", "12345678.90"),
        ("Tax 7.25% $12.34", "12.34"),
        ("1'234.50 CHF", "1234.50"),
        ("MONTANT ° .355,06 CHF", "355.06"),  # a speck read as a dot before the amount
    ],
)
def test_given_a_printed_amount_when_parsed_then_two_decimal_string(text: str, amount: str) -> None:
    assert parse.parse_amount(text) == amount


@pytest.mark.parametrize("text", ["", "Total", "TVA 20%", "n/a", "Ref .50"])
def test_given_no_amount_when_parsed_then_none(text: str) -> None:
    assert parse.parse_amount(text) is None


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("1 234,50 €", "EUR"),
        ("$99.00", "USD"),
        ("£5", "GBP"),
        ("Total 5.00 CHF", "CHF"),
        ("Rs 1939", "INR"),
        ("RM 80.90", "MYR"),
        ("Amount in euros", "EUR"),
        ("Total 12.00 usd", "USD"),
    ],
)
def test_given_currency_marks_when_found_then_iso_code(text: str, code: str) -> None:
    assert parse.find_currency(text) == code


def test_given_no_currency_when_found_then_none() -> None:
    assert parse.find_currency("Total 12.00") is None


def test_given_ibans_when_checked_then_mod97_decides() -> None:
    assert parse.iban_valid("GB82 WEST 1234 5698 7654 32")
    assert parse.iban_valid("FR1420041010050500013M02606")
    assert not parse.iban_valid("GB82 WEST 1234 5698 7654 33")
    assert not parse.iban_valid("not an iban")
    found = parse.find_iban("IBAN: FR14 2004 1010 0505 0001 3M02 606 BIC X")
    assert found is not None and found[0] == "FR1420041010050500013M02606"


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1 234,50", Decimal("1234.50")),
        ("1,234.50", Decimal("1234.50")),
        ("12", Decimal("12")),
        ("abc", None),
    ],
)
def test_given_table_numbers_when_read_then_decimal(text: str, value: Decimal | None) -> None:
    assert to_decimal(text) == value


def test_given_french_row_with_space_grouping_when_parsed_then_split_that_multiplies() -> None:
    row = parse_row("Chaise de bureau 2 1 234,50 2 469,00")
    assert row is not None and row.consistent
    assert (row.quantity, row.unit_price, row.amount) == (
        Decimal("2"),
        Decimal("1234.50"),
        Decimal("2469.00"),
    )
    assert row.description == "Chaise de bureau"


def test_given_row_whose_product_is_wrong_when_parsed_then_inconsistent() -> None:
    row = parse_row("Toner cartridge 3 10.00 31.00")
    assert row is not None and not row.consistent


@pytest.mark.parametrize(
    ("text", "figures", "inferred"),
    [
        # the quantity column lost: the amount over a unit price with cents is a whole quantity
        ("Training session 418.99 2,094.95", ("5", "418.99", "2094.95"), "quantity"),
        ("Licence logiciel 558,02 1 116,04", ("2", "558.02", "1116.04"), "quantity"),
        ("Heures 12,40 93,00", ("7.5", "12.40", "93.00"), "quantity"),
        # the unit price lost: a whole quantity divides the amount to the cent
        ("Support ordinateur 12 7 300,32", ("12", "608.36", "7300.32"), "unit price"),
    ],
)
def test_given_a_priced_row_missing_one_figure_when_parsed_then_it_is_worked_out_and_named(
    text: str, figures: tuple[str, str, str], inferred: str
) -> None:
    row = parse_row(text)
    assert row is not None and row.consistent and row.inferred == inferred
    assert (row.quantity, row.unit_price, row.amount) == tuple(Decimal(f) for f in figures)


@pytest.mark.parametrize(
    ("text", "figures", "mended"),
    [
        ("Frais de port 5 790.27 395135", ("5", "790.27", "3951.35"), "amount"),
        ("Lampe de bureau 3 4953 148.59", ("3", "49.53", "148.59"), "unit price"),
    ],
)
def test_given_a_figure_read_without_its_decimal_comma_when_parsed_then_read_as_cents_where_the_row_adds_up(
    text: str, figures: tuple[str, str, str], mended: str
) -> None:
    row = parse_row(text)
    assert row is not None and row.consistent and row.mended == mended and row.inferred is None
    assert (row.quantity, row.unit_price, row.amount) == tuple(Decimal(f) for f in figures)


@pytest.mark.parametrize(
    "text",
    [
        "Thing 3 10.00",  # 10.00 / 3 is no price to the cent, 3 / 10.00 no quantity
        "Desk 1 250.00 250.10",  # three figures read: a misread one is not made up
    ],
)
def test_given_two_figures_that_fit_no_row_when_parsed_then_nothing_is_made_up(text: str) -> None:
    row = parse_row(text)
    assert row is None or row.inferred is None


def test_given_a_sentence_when_parsed_as_row_then_none() -> None:
    assert parse_row("Thank you for your business!") is None


@pytest.mark.parametrize(
    ("raw", "readings"),
    [
        ("11/06/2019", ("2019-11-06", "2019-06-11")),
        ("Date: 01/28/2022 13:32", ("2022-01-28",)),  # a day over 12: one reading
        ("05.05.21", ("2021-05-05",)),
        ("2019-12-06", ("2019-12-06",)),  # ISO is never turned round
        ("5 mars 2024", ("2024-03-05",)),
        ("no date here", ()),
    ],
)
def test_given_numeric_date_when_both_readings_asked_then_each_valid_order_once(
    raw: str, readings: tuple[str, ...]
) -> None:
    assert parse.date_readings(raw) == readings


@pytest.mark.parametrize(
    ("text", "iban"),
    [
        # A Dutch VAT number first, in IBAN shape but 14 characters where a Dutch IBAN has 18.
        ("BTW NL810433941B01\nIBAN NL50INGB0683251309\nBIC INGBNL2A", "NL50INGB0683251309"),
        # A valid IBAN is preferred to an earlier IBAN-length string that fails mod-97.
        ("Ref GB82 WEST 1234 5698 7654 33\nIBAN: GB82 WEST 1234 5698 7654 32", "GB82WEST12345698765432"),
        # The word after it run into the last group is cut off at the country's length.
        ("IBAN FR14 2004 1010 0505 0001 3M02 606X", "FR1420041010050500013M02606"),
        # None valid: the first of the right length, for the caller to report its failed check.
        ("IBAN GB82 WEST 1234 5698 7654 33", "GB82WEST12345698765433"),
        # OCR's letters for digits and digits for letters, read back where the country's format
        # allows only one kind: the check digits, a British bank code, a French account key.
        ("IBAN GBO6CPCB88466754637969", "GB06CPCB88466754637969"),
        ("IBAN GB52 0UJN 5363 1277 0501 29", "GB52OUJN53631277050129"),
        ("IBAN FR14 2004 1010 0505 0001 3M02 6O6", "FR1420041010050500013M02606"),
    ],
)
def test_given_iban_shaped_strings_when_found_then_the_page_iban_is_picked(text: str, iban: str) -> None:
    found = parse.find_iban(text)
    assert found is not None and found[0] == iban
    span = re.sub(r"\s", "", text.upper()[found[1] : found[2]])
    assert iban in (span, parse._by_format(span))  # the span is what was printed, as read


def test_given_only_a_vat_number_when_ibans_are_looked_for_then_none() -> None:
    assert parse.find_iban("TVA intracom. FR60421938861 BTW NL810433941B01") is None


def test_given_a_misread_iban_that_its_format_does_not_mend_when_found_then_letters_for_check_digits_are_no_iban() -> (
    None
):
    # "GBO6" read back and still failing its check: not taken, where "GB06" failing it would be
    assert parse.find_iban("IBAN GBO6CPCB88466754637968") is None
    assert parse.find_iban("IBAN GB06CPCB88466754637968") == ("GB06CPCB88466754637968", 5, 27)
    # a word that merely starts like one
    assert parse.find_iban("FROSTBITE AND SONS 1234 5678 9012 3456 7890") is None


def test_given_a_reference_of_an_unknown_country_shape_when_ibans_are_looked_for_then_only_a_valid_one_counts() -> (
    None
):
    assert parse.find_iban("Mandate reference: MR52 9363 CRED ITOR") is None
    found = parse.find_iban("IBAN: QA58 DOHB 0000 1234 5678 90AB CDEF G")  # Qatar, valid mod-97
    assert found is not None and found[0] == "QA58DOHB00001234567890ABCDEFG"


@pytest.mark.parametrize(
    ("text", "want", "valid"),
    [
        ("ICS: FR72ZZZ123456", "FR72ZZZ123456", True),
        ("DE98ZZZ09999999999", "DE98ZZZ09999999999", True),  # the Bundesbank's published example
        ("ICS: FRO5ZZZ678726", "FR05ZZZ678726", True),  # a zero read as O in the check digits
        (
            "Creditor identifi FR49Z27579358",
            "FR49ZZZ579358",
            False,
        ),  # "ZZZ" read back; its digits still checked
        ("FR73ZZZ123456", "FR73ZZZ123456", False),  # one check digit off
    ],
)
def test_given_a_creditor_identifier_when_read_then_normalised_and_its_check_digits_tested(
    text: str, want: str, valid: bool
) -> None:
    from edge.read.parse import creditor_id, creditor_id_valid

    assert creditor_id(text) == want
    assert creditor_id_valid(want) is valid


def test_given_words_run_together_when_a_creditor_identifier_is_looked_for_then_none() -> None:
    from edge.read.parse import creditor_id

    assert creditor_id("BY SIGNING THIS MANDATE FORM") is None


@pytest.mark.parametrize(
    ("text", "want", "valid"),
    [
        ("BIC: BNPAFRPP", "BNPAFRPP", True),
        ("SWIFT DEUTDEFF500", "DEUTDEFF500", True),
        ("B0USFRPP", "BOUSFRPP", True),  # a letter read as a digit in the bank's code
        ("ABCDQQ2X", "ABCDQQ2X", False),  # no country QQ
    ],
)
def test_given_a_bic_when_found_then_letters_restored_and_country_checked(
    text: str, want: str, valid: bool
) -> None:
    from edge.read.parse import bic_valid, find_bic

    found = find_bic(text)
    assert found is not None and found[0] == want
    assert bic_valid(want) is valid


def test_given_a_word_with_digits_where_a_bank_code_has_letters_when_bics_are_looked_for_then_none() -> None:
    from edge.read.parse import find_bic

    assert find_bic("FR46H1CF 46945") is None


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("Pay period: September 2020", "2020-09"),
        ("Période : sept. 2023", "2023-09"),
        ("09/2020", "2020-09"),
        ("2021-11", "2021-11"),
        ("01/10/2022 - 31/10/2022", "2022-10"),
        ("Period: 13/2020", None),
        ("Hours 151.67", None),
    ],
)
def test_given_a_pay_period_when_parsed_then_its_month(text: str, want: str | None) -> None:
    from edge.read.parse import parse_period

    assert parse_period(text) == want


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("TVA 5,5%", "0.055"),
        ("Tax (8 %)", "0.08"),
        ("VAT 20.0%", "0.2"),
        ("Tax 0% 0.00 EUR", "0"),  # zero-rated: an exempt or export invoice prints its 0%
        ("100%", None),
    ],
)
def test_given_a_printed_rate_when_parsed_then_a_fraction(text: str, want: str | None) -> None:
    from edge.read.parse import parse_rate

    assert parse_rate(text) == want
