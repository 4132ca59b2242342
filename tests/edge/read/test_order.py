"""Reading order: tables row by row, side-by-side address blocks one after the other, on pages
built line by line (exact geometry) and on a rendered page read by real Tesseract."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from edge.read.ocr import Line, OcrPage, Word, page_from_text, read_words
from edge.read.order import numeric_text, reading_order
from edge.read.preprocess import prepare

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def build(blocks: list[list[tuple[str, float, float, float]]], line_h: float = 0.012) -> OcrPage:
    """A page from blocks of (text, x1, x2, y1) lines, in the order Tesseract would give them."""
    page = OcrPage()
    for b, block in enumerate(blocks, start=1):
        ids = []
        for text, x1, x2, y1 in block:
            box = (x1, y1, x2, y1 + line_h)
            words = []
            for tok in text.split():
                words.append(len(page.words))
                page.words.append(Word(tok, 0.9, box, b, 1, len(ids) + 1, index=len(page.words)))
            ids.append(len(page.lines))
            page.lines.append(Line(words=words, text=text, block=b, box=box))
        page.blocks.append(ids)
    return page


# An invoice as Tesseract segments it: the left column (addresses, descriptions, notes) first,
# then "Ship to", then the numbers of the table, then the totals.
INVOICE = [
    [
        ("Bill to", 0.10, 0.16, 0.34),
        ("Fuller-Quinn", 0.10, 0.20, 0.36),
        ("4460 Dunn Tunnel", 0.10, 0.30, 0.38),
    ],
    [
        ("Description", 0.10, 0.22, 0.43),
        ("Catering", 0.10, 0.17, 0.45),
        ("Desk lamp", 0.10, 0.18, 0.47),
        ("Filing cabinet", 0.10, 0.21, 0.49),
    ],
    [("Payment terms: 45 days", 0.10, 0.40, 0.60)],
    [
        ("Ship to", 0.53, 0.59, 0.34),
        ("Fuller-Quinn", 0.53, 0.62, 0.36),
        ("4460 Dunn Tunnel", 0.53, 0.73, 0.38),
    ],
    [
        ("Qty Unit price Amount", 0.69, 0.90, 0.43),
        ("1 1,067.88 1,067.88", 0.71, 0.90, 0.45),
        ("5 224.42 1,122.10", 0.71, 0.90, 0.47),
        ("12 1,362.32 16,347.84", 0.71, 0.90, 0.49),
    ],
    [("Subtotal", 0.69, 0.76, 0.52), ("Total", 0.69, 0.74, 0.54)],
    [("$18,537.82", 0.82, 0.90, 0.52), ("18,537.82 USD", 0.80, 0.90, 0.54)],
]


def test_given_a_table_read_as_columns_when_ordered_then_each_row_is_one_line() -> None:
    out = reading_order(build(INVOICE))
    lines = [ln.text for ln in out.lines]
    assert lines == [
        "Bill to",
        "Fuller-Quinn",
        "4460 Dunn Tunnel",
        "Ship to",
        "Fuller-Quinn",
        "4460 Dunn Tunnel",
        "Description Qty Unit price Amount",
        "Catering 1 1,067.88 1,067.88",
        "Desk lamp 5 224.42 1,122.10",
        "Filing cabinet 12 1,362.32 16,347.84",
        "Subtotal $18,537.82",
        "Total 18,537.82 USD",
        "Payment terms: 45 days",
    ]
    # the address blocks stay blocks; the table with its totals is one block of rows
    assert [out.lines[b[0]].text for b in out.blocks] == [
        "Bill to",
        "Ship to",
        "Description Qty Unit price Amount",
        "Payment terms: 45 days",
    ]


def test_given_an_ordered_page_then_words_are_renumbered_and_lines_point_at_their_own_words() -> None:
    page = build(INVOICE)
    out = reading_order(page)
    assert sorted(w.text for w in out.words) == sorted(w.text for w in page.words)
    assert [w.index for w in out.words] == list(range(len(out.words)))
    flat = [i for ln in out.lines for i in ln.words]
    assert flat == list(range(len(out.words)))  # reading order is word order
    for ln in out.lines:
        assert ln.text == " ".join(out.words[i].text for i in ln.words)
        x1, y1, x2, y2 = ln.box
        for i in ln.words:
            b = out.words[i].box
            assert x1 <= b[0] and b[2] <= x2 and y1 <= b[1] and b[3] <= y2


def test_given_two_address_blocks_side_by_side_then_they_are_not_interleaved() -> None:
    # Right block listed first and a hair higher: still read left block, then right block.
    page = build(
        [
            [
                ("Ship to", 0.53, 0.59, 0.339),
                ("Jane Roe", 0.53, 0.62, 0.359),
                ("1 Main St", 0.53, 0.62, 0.379),
            ],
            [
                ("Bill to", 0.10, 0.16, 0.34),
                ("John Doe", 0.10, 0.20, 0.36),
                ("22 Elm Road", 0.10, 0.30, 0.38),
            ],
        ]
    )
    assert [ln.text for ln in reading_order(page).lines] == [
        "Bill to",
        "John Doe",
        "22 Elm Road",
        "Ship to",
        "Jane Roe",
        "1 Main St",
    ]


def test_given_phone_numbers_side_by_side_then_no_table_is_made_of_them() -> None:
    page = build(
        [
            [("Seller", 0.10, 0.16, 0.34), ("+33 1 23 45 67 89", 0.10, 0.30, 0.36)],
            [("Buyer", 0.53, 0.59, 0.34), ("+33 6 98 76 54 32", 0.53, 0.73, 0.36)],
        ]
    )
    out = reading_order(page)
    assert [ln.text for ln in out.lines] == ["Seller", "+33 1 23 45 67 89", "Buyer", "+33 6 98 76 54 32"]
    assert len(out.blocks) == 2


def test_given_a_block_a_table_cuts_through_then_its_parts_keep_their_places() -> None:
    # One Tesseract block holds the heading above the table, the description column and the
    # note below it: the heading comes first, the note after the table.
    page = build(
        [
            [
                ("Items delivered", 0.10, 0.30, 0.40),
                ("Chair", 0.10, 0.15, 0.43),
                ("Table", 0.10, 0.15, 0.45),
                ("Goods received in good order", 0.10, 0.45, 0.50),
            ],
            [("4 120.00", 0.75, 0.90, 0.43), ("1 300.00", 0.75, 0.90, 0.45)],
        ]
    )
    assert [ln.text for ln in reading_order(page).lines] == [
        "Items delivered",
        "Chair 4 120.00",
        "Table 1 300.00",
        "Goods received in good order",
    ]


def test_given_text_without_boxes_then_the_order_is_kept() -> None:
    page = page_from_text("Total 12.00\n\nInvoice 7")
    assert reading_order(page) is page


@pytest.mark.parametrize(
    ("text", "numeric"),
    [
        ("1 1,067.88 1,067.88 |", True),
        ("$49,074.02", True),
        ("49,074.02 USD", True),
        ("05/16/2020", True),
        ("20 %", True),
        ("Total 12.00", False),
        ("Matthewstad, NH 17691", False),
        ("| |", False),
        ("", False),
    ],
)
def test_numeric_cells(text: str, numeric: bool) -> None:
    assert numeric_text(text) is numeric


def test_given_a_rendered_invoice_read_by_tesseract_then_table_rows_and_addresses_read_in_order() -> None:
    if not FONT.is_file():
        pytest.skip(f"font {FONT} not installed (fonts-dejavu-core)")
    img = Image.new("L", (1650, 1200), 255)
    d = ImageDraw.Draw(img)
    f = ImageFont.truetype(str(FONT), 26)
    for x, lines in (
        (120, ["Bill to", "Fuller-Quinn", "4460 Dunn Tunnel"]),
        (880, ["Ship to", "Hall Ltd", "9 Quay Street"]),
    ):
        for k, text in enumerate(lines):
            d.text((x, 100 + 40 * k), text, fill=0, font=f)
    rows = [
        ("Description", "Qty", "Unit price", "Amount"),
        ("Catering", "1", "1,067.88", "1,067.88"),
        ("Desk lamp", "5", "224.42", "1,122.10"),
        ("Filing cabinet", "12", "1,362.32", "16,347.84"),
    ]
    for k, row in enumerate(rows):
        y = 400 + 48 * k
        d.text((120, y), row[0], fill=0, font=f)
        for x, cell in zip((1000, 1250, 1530), row[1:], strict=True):
            d.text((x, y), cell, fill=0, font=f, anchor="ra")
    binary = prepare(np.asarray(img), "scan", []).ocr_image
    lines = [ln.text for ln in read_words(binary, ["eng"], timeout=30).lines]
    joined = "\n".join(lines)
    assert "Catering 1 1,067.88 1,067.88" in lines, joined
    assert "Filing cabinet 12 1,362.32 16,347.84" in lines, joined
    assert lines.index("Ship to") < lines.index("Catering 1 1,067.88 1,067.88"), joined
    assert lines.index("4460 Dunn Tunnel") < lines.index("Ship to"), joined
    # without ordering, Tesseract reads the table as columns
    plain = [ln.text for ln in read_words(binary, ["eng"], timeout=30, order=False).lines]
    assert "Catering 1 1,067.88 1,067.88" not in plain, "\n".join(plain)


def _line_of_words(
    page: OcrPage, words: list[tuple[str, float, float]], y1: float, h: float, block: int
) -> None:
    ids = []
    for text, x1, x2 in words:
        ids.append(len(page.words))
        page.words.append(Word(text, 0.9, (x1, y1, x2, y1 + h), block, 1, 1, index=len(page.words)))
    box = (words[0][1], y1, words[-1][2], y1 + h)
    page.lines.append(Line(words=ids, text=" ".join(t for t, _, _ in words), block=block, box=box))
    page.blocks[-1].append(len(page.lines) - 1)


def columns_page(rows: list[tuple[str, str]]) -> OcrPage:
    """Two columns that Tesseract read straight across: each printed row is one line whose
    words jump the gutter (x 0.47-0.53 on an A4 page at 200 dpi, 1654 x 2339 px)."""
    page = OcrPage(size=(1654, 2339))
    page.blocks.append([])
    h = 0.011
    for k, (left, right) in enumerate(rows):
        words = []
        x = 0.10
        for tok in left.split():
            words.append((tok, x, x + 0.01 * len(tok)))
            x += 0.01 * len(tok) + 0.008
        x = 0.53
        for tok in right.split():  # an empty right side: a line of the left column alone
            words.append((tok, x, x + 0.01 * len(tok)))
            x += 0.01 * len(tok) + 0.008
        _line_of_words(page, words, 0.20 + 0.015 * k, h, 1)
    return page


def test_given_two_columns_read_straight_across_then_the_left_column_is_read_first() -> None:
    page = columns_page(
        [
            ("Most inside ground rock", "none good. Develop"),
            ("where little deal", "chance car visit."),
            ("current type. Hair", ""),
        ]
    )
    assert [ln.text for ln in reading_order(page).lines] == [
        "Most inside ground rock",
        "where little deal",
        "current type. Hair",
        "none good. Develop",
        "chance car visit.",
    ]


def test_given_labels_and_values_far_apart_then_each_row_stays_one_line() -> None:
    rows = [("Due date:", "Ms Jane Roe"), ("Customer number:", "Hall Ltd"), ("Subtotal", "$49,074.02")]
    assert [ln.text for ln in reading_order(columns_page(rows)).lines] == [
        "Due date: Ms Jane Roe",
        "Customer number: Hall Ltd",
        "Subtotal $49,074.02",
    ]


def test_given_a_column_read_downwards_as_one_tall_line_then_it_joins_no_row() -> None:
    # Tesseract read the quantity column as one "line" (x 0.73-0.75, six rows tall): the rows
    # beside it keep their own amounts instead of becoming one line.
    page = build(
        [
            [("Catering", 0.09, 0.21, 0.465), ("Consulting hours", 0.09, 0.32, 0.505)],
            [("D Wr FN", 0.73, 0.745, 0.465)],
            [("72.80", 0.83, 0.91, 0.465), ("124.84", 0.82, 0.91, 0.505)],
        ]
    )
    page.lines[2].box = (0.73, 0.465, 0.745, 0.643)
    for i in page.lines[2].words:
        page.words[i].box = page.lines[2].box
    lines = [ln.text for ln in reading_order(page).lines]
    assert "Catering 72.80" in lines and "Consulting hours 124.84" in lines, lines


def test_given_an_address_beside_a_lone_total_row_when_ordered_then_the_address_stays_whole() -> None:
    # The AWS invoice's header: the bill-to block on the left, its second line on the same row
    # as "TOTAL AMOUNT DUE ON ... $4.11" on the right. That row is tabular (a text cell, then an
    # amount), but the address line left of it across a wide gap is another block's.
    page = build(
        [
            [
                ("Bill to Address:", 0.06, 0.18, 0.20),
                ("ATTN: iViveLabs Limited", 0.06, 0.25, 0.22),
                ("93B Sai Yu Chung", 0.06, 0.20, 0.24),
            ],
            [("TOTAL AMOUNT DUE ON August 3 , 2014", 0.42, 0.74, 0.22)],
            [("$4.11", 0.90, 0.94, 0.22)],
        ]
    )
    text = reading_order(page).text
    assert "ATTN: iViveLabs Limited\n93B Sai Yu Chung" in text
    assert "TOTAL AMOUNT DUE ON August 3 , 2014 $4.11" in text
