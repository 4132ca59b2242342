"""QR codes decoded from scanned pages (corpus pages with their printed payment code)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from edge.read.codes import decode_codes
from models.corpus import generate_page


# 200, 240 and 150 dpi scans, each with a code; the last a faint one whose code the ArUco
# detector finds but cannot decode (the classic decoder's retry reads it)
@pytest.mark.parametrize("seed", [1, 3, 17, 542643817])
def test_given_a_scanned_invoice_with_a_payment_code_when_decoded_then_payload_and_place_match(
    seed: int,
) -> None:
    page = generate_page(seed, "scan", "en", "invoice")
    (want,) = page.meta["codes"]
    gray = cv2.cvtColor(page.image, cv2.COLOR_BGR2GRAY)
    codes = decode_codes(gray)
    assert [c.payload for c in codes] == [want["payload"]]
    assert decode_codes(gray, qr=False) == []  # barcodes only: the reader's second look
    h, w = page.image.shape[:2]
    b = codes[0].box
    assert b is not None
    cx, cy = (b.x1 + b.x2) / 2 * w, (b.y1 + b.y2) / 2 * h
    x1, y1, x2, y2 = want["box"]
    assert x1 <= cx <= x2 and y1 <= cy <= y2


def test_given_pages_without_a_code_when_decoded_then_nothing_and_no_error() -> None:
    assert decode_codes(np.full((2339, 1654), 255, np.uint8)) == []
    assert decode_codes(np.zeros((1, 1), np.uint8)) == []
    noise = np.random.default_rng(0).integers(0, 256, (900, 700), dtype=np.uint8)
    assert decode_codes(noise) == []


@pytest.mark.parametrize("turned", [False, True])
def test_given_invoice_with_a_code_when_read_end_to_end_then_the_code_is_on_the_page_as_read(
    turned: bool,
) -> None:
    """The reader decodes codes while Tesseract reads; a page turned to be read gets its codes
    placed on the turned page, where the words are."""
    from edge.config import ReaderConfig
    from edge.read import PageReader

    page = generate_page(1, "scan", "en", "invoice")
    (want,) = page.meta["codes"]
    image = cv2.rotate(page.image, cv2.ROTATE_180) if turned else page.image
    r = PageReader(ReaderConfig()).read(image, [], "scan")
    assert r.rotation == (180 if turned else 0)
    assert [c.payload for c in r.fields.codes] == [want["payload"]]
    assert r.timings_ms["codes"] > 0
    b = r.fields.codes[0].box
    assert b is not None
    h, w = page.image.shape[:2]
    cx, cy = (b.x1 + b.x2) / 2 * w, (b.y1 + b.y2) / 2 * h  # the upright page's frame either way
    x1, y1, x2, y2 = want["box"]
    assert x1 <= cx <= x2 and y1 <= cy <= y2


# A 150 dpi fax skewed 2.7 degrees and a specked 200 dpi bilevel scan: levelling and
# despeckling resample their 2-3 px modules, and the prepared page shows no readable code.
@pytest.mark.parametrize(("seed", "lang"), [(542643817, "en"), (921763994, "fr")])
def test_given_a_fax_whose_code_the_prepared_page_loses_when_codes_read_then_the_input_gives_it(
    seed: int, lang: str
) -> None:
    from edge.read.preprocess import input_to_page, prepare
    from edge.read.reader import page_codes

    page = generate_page(seed, "scan", lang, "invoice")
    (want,) = page.meta["codes"]
    prep = prepare(page.image, "scan")
    assert not decode_codes(prep.gray)  # what the reader saw before
    codes = page_codes(page.image, prep)
    assert [c.payload for c in codes] == [want["payload"]]
    b = codes[0].box
    assert b is not None
    x1, y1, x2, y2 = want["box"]
    ((cx, cy),) = input_to_page(prep, page.image.shape, np.array([[(x1 + x2) / 2, (y1 + y2) / 2]]))
    assert abs((b.x1 + b.x2) / 2 - cx) < 0.01 and abs((b.y1 + b.y2) / 2 - cy) < 0.01
