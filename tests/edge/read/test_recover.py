"""Print that Tesseract's page segmentation left out, found from the ink no word covers and read
again line by line (edge/read/recover.py), with real Tesseract."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from edge.read.ocr import _data
from edge.read.recover import missed_regions, recover

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
LINES = ["Purchase order PO459590", "Date: 04/21/2019", "Ship to Jennifer Gray", "Total 1,234.50"]


def _page(angle_last: float = 0.0) -> np.ndarray:
    """A grey page of four printed lines (the last one turned by ``angle_last`` degrees, as a
    stamp would be)."""
    if not FONT.is_file():
        pytest.skip(f"font {FONT} not installed (fonts-dejavu-core)")
    font = ImageFont.truetype(str(FONT), 30)
    img = Image.new("L", (1100, 700), 255)
    draw = ImageDraw.Draw(img)
    for i, line in enumerate(LINES[:-1]):
        draw.text((60, 60 + i * 80), line, fill=20, font=font)
    stamp = Image.new("L", (700, 80), 255)
    ImageDraw.Draw(stamp).text((10, 20), LINES[-1], fill=20, font=font)
    stamp = stamp.rotate(angle_last, expand=True, fillcolor=255)
    img.paste(stamp, (60, 400))
    return np.asarray(img).copy()


def _read(image: np.ndarray, psm: int = 3) -> dict[str, list[Any]]:
    return _data(image, "eng", psm, 30.0, "libtesseract")


def _without(data: dict[str, list[Any]], word: str) -> dict[str, list[Any]]:
    """Tesseract's columns with every word of the line holding ``word`` left out, as its page
    segmentation sometimes leaves out a column."""
    key = next(
        (data["block_num"][i], data["par_num"][i], data["line_num"][i])
        for i, t in enumerate(data["text"])
        if t == word
    )
    keep = [
        i
        for i in range(len(data["text"]))
        if (data["block_num"][i], data["par_num"][i], data["line_num"][i]) != key
        or not data["text"][i].strip()
    ]
    return {k: [v[i] for i in keep] for k, v in data.items()}


def test_given_every_line_read_when_missed_ink_is_looked_for_then_none() -> None:
    page = _page()
    regions, glyph = missed_regions(page, _read(page))
    assert regions == [] and glyph > 10


def test_given_a_line_left_out_when_recovered_then_it_is_read_back_where_it_was() -> None:
    page = _page()
    data = _without(_read(page), "Jennifer")
    regions, _ = missed_regions(page, data)
    assert len(regions) == 1
    _, y1, _, y2 = regions[0]
    assert y1 < 60 + 2 * 80 + 30 and y2 > 60 + 2 * 80  # the "Ship to" line
    out = recover(page, data, _read)
    added = [i for i in range(len(data["text"]), len(out["text"]))]
    assert [out["text"][i] for i in added] == ["Ship", "to", "Jennifer", "Gray"]
    # placed on the page, as a block of its own
    assert all(abs(out["top"][i] - (60 + 2 * 80)) < 15 for i in added)
    assert len({out["block_num"][i] for i in added}) == 1
    assert out["block_num"][added[0]] > max(data["block_num"])


def test_given_a_line_left_out_when_looked_for_at_half_size_then_the_same_line_in_page_pixels() -> None:
    page = _page()
    data = _without(_read(page), "Jennifer")
    (full,), g_full = missed_regions(page, data)
    (half,), g_half = missed_regions(page, data, half=True)
    assert max(abs(a - b) for a, b in zip(full, half, strict=True)) <= 4
    assert abs(g_full - g_half) <= 2


def test_given_the_pages_time_spent_when_recovering_then_what_is_left_is_not_read() -> None:
    page = _page()
    data = _without(_read(page), "Jennifer")
    calls: list[int] = []

    def spent(image: np.ndarray, psm: int) -> None:
        calls.append(psm)
        return None

    assert recover(page, data, spent) == data
    assert len(calls) == 1  # asked once, then no more


def test_given_a_line_set_at_an_angle_left_out_when_looked_for_then_taken_for_a_stamp() -> None:
    page = _page(angle_last=12.0)
    data = _read(page)
    below = [i for i in range(len(data["text"])) if data["top"][i] < 380]  # the turned line left out
    data = {k: [v[i] for i in below] for k, v in data.items()}
    assert missed_regions(page, data)[0] == []


def test_given_a_clean_purchase_order_whose_values_tesseract_left_out_when_read_then_number_and_date() -> (
    None
):
    """Validation purchase order 446: Tesseract read the labels "No.:", "Date:" and "Order ref.:"
    and gave no block for the values printed beside them."""
    from edge.config import ReaderConfig
    from edge.read import PageReader
    from models.corpus import generate_page

    page = generate_page(3129758490, "scan", "en", "purchase_order")
    h, w = page.image.shape[:2]
    from edge.detect import Detection

    dets = [
        Detection(box=(s["box"][0] / w, s["box"][1] / h, s["box"][2] / w, s["box"][3] / h), score=1.0)
        for s in page.meta["signatures"]
    ]
    artifact = Path(__file__).resolve().parents[3] / "models" / "artifacts" / "classifier.int8.onnx"
    r = PageReader(ReaderConfig(classifier=artifact)).read(page.image, dets, "scan")
    v = {k: f.value for k, f in r.fields.values.items()}
    assert v.get("number") == "PO459590" and v.get("date") == "2019-04-21"
    assert "REF436863" in r.text
    plain = PageReader(ReaderConfig(classifier=artifact, recover_missed=False)).read(page.image, dets, "scan")
    assert "PO459590" not in plain.text  # what this guards: Tesseract alone leaves them out


ROWS = [("Desk lamp", "3"), ("Catering", "24"), ("Laptop stand", "2"), ("Shipping", "10")]


def _table() -> np.ndarray:
    """A grey page with a table: descriptions on the left, a column of short figures far right."""
    if not FONT.is_file():
        pytest.skip(f"font {FONT} not installed (fonts-dejavu-core)")
    font = ImageFont.truetype(str(FONT), 30)
    img = Image.new("L", (1100, 500), 255)
    draw = ImageDraw.Draw(img)
    draw.text((60, 40), "Description", fill=20, font=font)
    draw.text((880, 40), "Ordered", fill=20, font=font)
    for i, (desc, qty) in enumerate(ROWS):
        draw.text((60, 110 + i * 60), desc, fill=20, font=font)
        draw.text((990 - draw.textlength(qty, font=font), 110 + i * 60), qty, fill=20, font=font)
    return np.asarray(img).copy()


def test_given_a_column_of_figures_left_out_when_recovered_then_each_is_read_beside_its_row() -> None:
    page = _table()
    data = _read(page)
    figures = {q for _, q in ROWS}
    # as Tesseract's page segmentation sometimes does with a table's narrow column of figures
    keep = [i for i in range(len(data["text"])) if data["text"][i].strip() not in figures]
    data = {k: [v[i] for i in keep] for k, v in data.items()}
    regions, _ = missed_regions(page, data)
    # each figure is too short to read alone (one or two glyphs); together they are a column
    assert len(regions) == 1
    x1, y1, _, y2 = regions[0]
    assert x1 > 900 and y1 < 120 and y2 > 110 + 3 * 60
    out = recover(page, data, _read)
    added = {out["text"][i]: out["top"][i] for i in range(len(data["text"]), len(out["text"]))}
    assert set(added) == figures
    for i, (_, qty) in enumerate(ROWS):
        assert abs(added[qty] - (110 + i * 60)) < 15


def test_given_a_column_of_figures_read_once_when_recovered_again_then_none_is_added_twice() -> None:
    page = _table()
    once = recover(page, _read(page), _read)
    assert {q for _, q in ROWS} <= {t.strip() for t in once["text"]}
    assert recover(page, once, _read)["text"] == once["text"]
