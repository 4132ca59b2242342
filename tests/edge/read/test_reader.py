"""PageReader with real Tesseract on small rendered pages, and bad input: each gives a clear result
or error, never a crash or a hang."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from edge.config import ReaderConfig
from edge.read import PageReader, Reading
from edge.read.ocr import page_from_text
from edge.read.preprocess import (
    SPECK_SHARE,
    SPECKLED,
    despeckle,
    estimate_skew,
    is_speckled,
    prepare,
    remove_rules,
    rotate,
    speck_density,
    speckle,
)
from edge.read.reader import TEXT_MIN_CONF, text_words

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
ARTIFACT = Path(__file__).resolve().parents[3] / "models" / "artifacts" / "classifier.int8.onnx"

LINES = [
    "ACME Supplies Ltd",
    "INVOICE",
    "Invoice No.: INV-2024-0042",
    "Date: 2024-03-15",
    "Office chair 2 150.00 300.00",
    "Subtotal 300.00",
    "Tax 60.00",
    "Total EUR 360.00",
]


def render(lines: list[str], size: tuple[int, int] = (1100, 800), font_px: int = 30) -> np.ndarray:
    """A white page with dark text lines (BGR), like a 150 dpi scan of the top of a page."""
    if not FONT.is_file():
        pytest.skip(f"font {FONT} not installed (fonts-dejavu-core)")
    img = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(img)
    font = ImageFont.truetype(str(FONT), font_px)
    y = 40
    for line in lines:
        draw.text((60, y), line, fill=(20, 20, 20), font=font)
        y += int(font_px * 1.6)
    return np.ascontiguousarray(np.asarray(img)[:, :, ::-1])


@pytest.fixture(scope="module")
def reader() -> PageReader:
    return PageReader(ReaderConfig(classifier=ARTIFACT, ocr_timeout_s=30))


def test_given_rendered_invoice_when_read_then_text_words_and_fields(reader: PageReader) -> None:
    r = reader.read(render(LINES), [], "scan")
    assert isinstance(r, Reading)
    assert "INV-2024-0042" in r.text
    assert r.words and all(0 <= v <= 1 for w in r.words for v in w["box"])
    v = {k: f.value for k, f in r.fields.values.items()}
    assert v.get("total") == "360.00" or r.doc_type.label != "invoice"
    assert r.timings_ms["ocr"] > 0 and r.timings_ms["total"] >= r.timings_ms["ocr"]
    assert r.ocr.name == "tesseract" and "eng+fra" in r.ocr.version


def _scribble(page: np.ndarray, x0: int, y0: int) -> None:
    rng = np.random.default_rng(1)
    pts = np.cumsum(rng.normal(0, 9, (80, 2)), axis=0).astype(np.int32) + np.array([x0, y0])
    cv2.polylines(page, [pts.reshape(-1, 1, 2)], False, (30, 30, 30), 3)


def test_given_signature_box_when_read_then_scribble_is_not_text_but_printed_words_stay(
    reader: PageReader,
) -> None:
    from edge.detect import Detection

    page = render(LINES)
    _scribble(page, 700, 620)
    box = (0.55, 0.62, 0.95, 0.98)  # around the scribble
    wrong = (0.0, 130 / 800, 1.0, 175 / 800)  # a false detection over the "Invoice No." line
    r = reader.read(page, [Detection(box=box, score=0.9), Detection(box=wrong, score=0.6)], "scan")
    assert "INV-2024-0042" in r.text  # confident printed words under a false box are kept
    under = [w for w in r.words if w["box"][0] > 0.55 and w["box"][1] > 0.62]
    assert all(w["conf"] >= 0.9 for w in under)  # no low-confidence scribble words


def test_given_signature_box_on_webcam_frame_when_read_then_pixels_blanked(reader: PageReader) -> None:
    from edge.detect import Detection

    page = render(LINES)
    box = (0.0, 130 / 800, 1.0, 175 / 800)
    r = reader.read(page, [Detection(box=box, score=0.9)], "webcam")
    assert "INV-2024-0042" not in r.text


def test_given_upside_down_page_when_read_then_turned_and_read(reader: PageReader) -> None:
    page = cv2.rotate(render(LINES), cv2.ROTATE_180)
    r = reader.read(page, [], "scan")
    assert r.rotation in (180,)
    assert "INV-2024-0042" in r.text


def test_given_skewed_page_when_prepared_then_skew_estimated_and_removed() -> None:
    gray = cv2.cvtColor(render(LINES), cv2.COLOR_BGR2GRAY)
    tilted = rotate(gray, 4.0)
    _, binary = cv2.threshold(tilted, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    assert abs(estimate_skew(binary) + 4.0) < 0.8
    assert abs(prepare(tilted, "scan").skew + 4.0) < 0.8


def test_given_a_page_turned_past_the_usual_range_when_prepared_then_the_search_goes_on() -> None:
    """A scan is looked at within 8 degrees; where the best angle is the last one looked at, the
    page is turned further (a sheet fed crooked, a photo sent to the scan folder): the search
    goes on the same way, and a camera page is always searched to 25 degrees (one flattened
    from a wrong outline is turned by as much as the outline was off)."""
    gray = cv2.cvtColor(render(LINES * 2, size=(1100, 1500)), cv2.COLOR_BGR2GRAY)
    tilted = rotate(gray, 14.0)
    _, binary = cv2.threshold(tilted, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    assert abs(estimate_skew(binary) + 14.0) < 0.8
    assert abs(prepare(tilted, "scan").skew + 14.0) < 0.8
    assert abs(estimate_skew(255 - np.zeros_like(binary))) == 0.0  # blank: nothing to level


def test_given_skewed_page_with_dark_scanner_band_when_prepared_then_skew_still_found() -> None:
    """The dark band past a sheet's edge is level with the scanner, not with the text; as wide as
    the page, it outweighed every text line and the page was read as level."""
    gray = cv2.cvtColor(render(LINES * 2, size=(1100, 1500)), cv2.COLOR_BGR2GRAY)
    tilted = rotate(gray, 2.5)
    tilted[:40, :] = 15  # the scanner lid's shadow along the top edge
    assert abs(prepare(tilted, "scan").skew + 2.5) < 0.8


def _form(boxes: bool) -> np.ndarray:
    """A ruled form: labels printed just under the top edge of thick field boxes, a table with
    rules under its rows, and a filled round logo (grey page, 200 dpi-like sizes)."""
    lines = ["Full name", "", "Nationality", "", "Total EUR 360.00"]
    gray = cv2.cvtColor(render(lines, size=(1400, 700), font_px=26), cv2.COLOR_BGR2GRAY)
    cv2.circle(gray, (1250, 90), 55, 30, -1)  # filled logo
    if boxes:
        for y in (40, 123):  # each box's top edge touches its label's capitals
            cv2.rectangle(gray, (50, y - 2), (1100, y + 78), 25, 6)
        cv2.line(gray, (50, 380), (1300, 380), 25, 3)  # a table rule under a row
    return gray


def test_given_ruled_form_when_rules_removed_then_lines_gone_and_text_and_logo_kept() -> None:
    clean, ruled = _form(False), _form(True)
    out = remove_rules(ruled)
    assert out is not None
    ink_out = out < 128
    # No long dark run is left on any row: the box edges and the table rule are gone.
    runs = cv2.morphologyEx(ink_out.astype(np.uint8), cv2.MORPH_OPEN, np.ones((1, 200), np.uint8))
    logo = np.zeros_like(ink_out)
    cv2.circle(logo.view(np.uint8), (1250, 90), 60, 1, -1)
    assert not runs[~logo].any()
    # The text and the filled logo keep their ink.
    ink_clean = clean < 128
    kept = np.count_nonzero(ink_out & ink_clean) / np.count_nonzero(ink_clean)
    assert kept > 0.97
    assert np.count_nonzero(ink_out & logo) >= 0.97 * np.count_nonzero(ink_clean & logo)
    # A page without rules is left to Tesseract as it is.
    assert remove_rules(clean) is None


def test_given_a_levelled_staircase_rule_when_rules_removed_then_no_dashes_stay_beside_it() -> None:
    """A rule on a skewed bilevel fax is a staircase; once the page is levelled its steps' corners
    stick out of the straight line and used to stay as rows of dashes (read as '- _ -')."""
    clean = cv2.cvtColor(
        render(["Account holder", "", "Shawn Williams"], size=(1300, 400), font_px=26), cv2.COLOR_BGR2GRAY
    )
    ruled = clean.copy()
    cv2.line(ruled, (40, 300), (1260, 300), 0, 5)
    # Skewed, thresholded at fax resolution, brought back to size and levelled, as prepare does.
    fax = cv2.resize(rotate(ruled, -2.5), None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    fax = np.where(fax < 150, 0, 255).astype(np.uint8)
    page = rotate(cv2.resize(fax, None, fx=2, fy=2, interpolation=cv2.INTER_LINEAR), 2.5)
    rows = np.flatnonzero((page[:, 400:1200] < 128).any(axis=1))
    rows = rows[rows > 250]  # the rule, below the text
    assert rows.size and rows.max() - rows.min() < 30
    out = remove_rules(page)
    assert out is not None
    band = out[rows.min() - 6 : rows.max() + 7, 60:1240]
    assert np.count_nonzero(band < 160) < 0.001 * band.size
    text = page < 128
    text[rows.min() - 6 :, :] = False
    assert np.count_nonzero((out < 128) & text) > 0.97 * np.count_nonzero(text)


def test_given_dotted_row_rules_when_rules_removed_then_dots_go_and_text_and_asterisks_stay() -> None:
    """A table with dotted rules under its rows (Tesseract took each row for a picture) and a
    masked card number, whose asterisks are flat marks too but half a glyph high."""
    lines = ["Laptop stand - 1", "", "USB-C cable - 4", "", "VISA ************9417"]
    clean = cv2.cvtColor(render(lines, size=(1300, 600), font_px=26), cv2.COLOR_BGR2GRAY)
    dotted = clean.copy()
    ys = []
    for row in range(2):
        y = 95 + 105 * row
        ys.append(y)
        for x in range(40, 1260, 9):  # 4 px dashes, 5 px gaps
            cv2.line(dotted, (x, y), (x + 3, y), 0, 2)
    out = remove_rules(dotted)
    assert out is not None
    for y in ys:
        band = out[y - 3 : y + 4, 40:1260]
        assert np.count_nonzero(band < 128) < 0.01 * band.size  # the dots are gone
    ink_clean = clean < 128
    assert np.count_nonzero((out < 128) & ink_clean) > 0.98 * np.count_nonzero(
        ink_clean
    )  # hyphens, asterisks
    assert remove_rules(clean) is None  # the asterisks' row alone is no rule
    # Lines set close together: the labelled strips around a row cut the next line's glyphs,
    # whose tops are flat pieces there; they are not marks of a rule.
    tight = cv2.cvtColor(
        render(["08/19/2022 202203-5955 0800"] * 8, size=(900, 400), font_px=30), cv2.COLOR_BGR2GRAY
    )
    assert remove_rules(tight) is None


def _speckled(gray: np.ndarray, share: float, seed: int = 7) -> np.ndarray:
    """A bilevel scan thresholded over grainy paper: ``share`` of the paper pixels turned black."""
    rng = np.random.default_rng(seed)
    _, bw = cv2.threshold(gray, 128, 255, cv2.THRESH_BINARY)
    bw[rng.random(bw.shape) < share] = 0
    return bw


def test_given_clean_page_when_despeckled_then_left_alone() -> None:
    gray = cv2.cvtColor(render(LINES), cv2.COLOR_BGR2GRAY)
    out, passes = despeckle(gray)
    assert passes == 0 and out is gray
    assert speck_density(gray) < SPECKLED


def test_given_small_receipt_with_dotted_font_when_despeckled_then_left_alone() -> None:
    """A small, dense page has many dots per megapixel (i, j, commas), but they are not most of
    its components: a median pass would erase its thin strokes."""
    lines = [f"Item {i}: j.i.j,i; {i * 3},{i}7 ...;;" for i in range(14)]
    gray = cv2.cvtColor(render(lines, size=(420, 330), font_px=12), cv2.COLOR_BGR2GRAY)
    density, share = speckle(gray)
    assert density > SPECKLED and share < SPECK_SHARE
    assert despeckle(gray)[1] == 0


def test_given_speckled_bilevel_scan_when_read_then_specks_filtered_and_text_read(reader: PageReader) -> None:
    gray = cv2.cvtColor(render(LINES), cv2.COLOR_BGR2GRAY)
    noisy = _speckled(rotate(gray, 2.5), 0.12)
    assert speck_density(noisy) > 10 * SPECKLED
    prep = prepare(noisy, "scan")
    assert any("speckled scan" in n for n in prep.notes)
    assert speck_density(prep.gray) < SPECKLED
    assert abs(prep.skew + 2.5) < 0.8  # skew is estimated on the cleaned page
    r = reader.read(noisy, [], "scan")
    assert "Date: 2024-03-15" in r.text and "Total EUR 360.00" in r.text
    assert "despeckle_check" not in r.timings_ms  # read well: not cleaned and read a second way


def test_given_any_page_when_specks_bounded_cheaply_then_bound_never_under_the_count() -> None:
    """``is_speckled`` skips the component count where lonely dark pixels are already too few:
    that bound must never fall under the dot density it stands for."""
    from edge.read.preprocess import _lonely_ink

    gray = cv2.cvtColor(render(LINES, font_px=14), cv2.COLOR_BGR2GRAY)
    rng = np.random.default_rng(3)
    pages = [
        gray,
        _speckled(gray, 0.02),
        _speckled(gray, 0.12),
        rng.integers(0, 256, (300, 400), dtype=np.uint8),
    ]
    for page in pages:
        assert _lonely_ink(page) >= speckle(page)[0]
    clean = cv2.cvtColor(render(LINES), cv2.COLOR_BGR2GRAY)
    assert _lonely_ink(clean) <= SPECKLED and not is_speckled(clean)  # a clean page skips the count
    assert is_speckled(pages[2])


def test_given_thin_print_when_despeckled_finely_then_its_strokes_stay() -> None:
    """Small print on a bilevel scan has one-pixel strokes: a plain 3x3 median takes half their
    ink with the specks, the pass at double size keeps nearly all of it."""
    gray = cv2.cvtColor(render(LINES, font_px=14), cv2.COLOR_BGR2GRAY)
    ink = gray < 128
    noisy = _speckled(gray, 0.06)
    plain, fine = despeckle(noisy)[0], despeckle(noisy, fine=True)[0]
    for out in (plain, fine):
        assert speck_density(out) < SPECKLED
    kept = [np.count_nonzero((out < 128) & ink) / np.count_nonzero(ink) for out in (plain, fine)]
    assert kept[0] < 0.6 and kept[1] > 0.85


def test_given_a_big_speckled_page_when_despeckled_finely_then_the_plain_passes_run() -> None:
    # Doubling a 12,000 px page would take hundreds of megabytes; its strokes are thick anyway.
    from edge.read.preprocess import FINE_DESPECKLE_MAX_PX

    rng = np.random.default_rng(5)
    side = int(FINE_DESPECKLE_MAX_PX**0.5) + 50
    page = np.where(rng.random((side, side)) < 0.05, 0, 255).astype(np.uint8)
    plain, fine = despeckle(page), despeckle(page, fine=True)
    assert plain[1] >= 1 and np.array_equal(plain[0], fine[0])


def test_given_speckled_scan_of_thin_print_when_read_then_the_finer_cleaning_is_kept(
    reader: PageReader,
) -> None:
    gray = cv2.cvtColor(render(LINES, font_px=13), cv2.COLOR_BGR2GRAY)
    noisy = _speckled(gray, 0.06)
    assert "ACME" not in reader._ocr(prepare(noisy, "scan")).text  # the plain median leaves nothing legible
    r = reader.read(noisy, [], "scan")
    assert "despeckle_check" in r.timings_ms
    assert any("at double size" in e for e in r.errors), r.errors
    assert not any(e.startswith("speckled scan") and "double" not in e for e in r.errors)
    assert "ACME Supplies Ltd" in r.text and "Total EUR 360.00" in r.text


def test_given_a_dithered_grey_scan_when_read_then_the_plain_cleaning_is_read_and_the_page_kept(
    reader: PageReader,
) -> None:
    """A bilevel scan of a page printed on a grey ground (a corpus page): the plain cleaning
    reads it, the finer one leaves tens of thousands of specks, over which Tesseract took 42 s,
    past the page's timeout, and the whole page was lost. It is no longer tried there."""
    from models.classifier.data import page_specs
    from models.corpus import generate_page

    spec = next(s for s in page_specs("val", 170) if s.index == 169)
    image = generate_page(spec.seed, spec.profile, spec.lang, spec.doc_type).image
    assert is_speckled(prepare(image, "scan", fine_despeckle=True).gray)
    r = reader.read(image, [], "scan")
    assert "Meeting minutes" in r.text and "September 7, 2025" in r.text
    assert not any("failed" in e or "timed out" in e for e in r.errors), r.errors


def test_given_a_second_reading_that_runs_out_of_time_when_tried_then_none_and_the_first_stands(
    caplog: pytest.LogCaptureFixture,
) -> None:
    slow = PageReader(ReaderConfig(classifier=ARTIFACT, ocr_timeout_s=2.0))
    noise = ((np.random.default_rng(0).random((12000, 1700)) > 0.9) * 255).astype(np.uint8)
    # What Tesseract reads: a page whose layout analysis outlasts the deadline
    prep = replace(prepare(render(LINES), "scan"), gray=noise, ruled=None)
    slow._deadline = time.monotonic() + 60.0  # the page's time is not spent: it is the read's
    with caplog.at_level("WARNING", logger="edge.read.reader"):
        assert slow._second_read(prep) is None
    assert any(
        "failed" in r.getMessage() and "first reading is kept" in r.getMessage() for r in caplog.records
    )
    assert "ACME" in slow.read(render(LINES), [], "scan").text  # the helper was replaced


def test_given_a_page_whose_time_is_spent_when_a_second_reading_is_asked_then_none_without_reading(
    reader: PageReader, caplog: pytest.LogCaptureFixture
) -> None:
    """A page's readings share PAGE_READS_BUDGET times ``ocr_timeout_s``: past it, no second
    reading starts (the reading pool would restart the job, and the first reading be lost)."""
    prep = prepare(render(LINES), "scan")
    reader._deadline = time.monotonic() + 0.5  # under MIN_SECOND_READ_S left
    t0 = time.monotonic()
    with caplog.at_level("WARNING", logger="edge.read.reader"):
        assert reader._second_read(prep) is None
    assert time.monotonic() - t0 < 0.2
    assert any("no time left" in r.getMessage() for r in caplog.records)
    assert "ACME" in reader.read(render(LINES), [], "scan").text  # the next page has its own time


def test_given_blank_page_when_read_then_blank_error_without_ocr(reader: PageReader) -> None:
    r = reader.read(np.full((1200, 900, 3), 255, np.uint8), [], "scan")
    assert r.text == "" and any("blank page" in e for e in r.errors)
    assert r.doc_type.needs_review and "ocr" not in r.timings_ms


def test_given_picture_page_when_read_then_flagged_for_review(reader: PageReader) -> None:
    rng = np.random.default_rng(0)
    picture = cv2.GaussianBlur(rng.integers(0, 255, (600, 800, 3), dtype=np.uint8), (0, 0), 6)
    r = reader.read(picture, [], "scan")
    assert r.doc_type.needs_review
    assert r.errors  # no text found, or barely readable


def test_given_non_latin_text_when_read_then_reported_not_crashed(reader: PageReader) -> None:
    page = render(["Привет мир это документ", "Συμβόλαιο και υπογραφή", "Ελληνικά κείμενα εδώ"] * 3)
    r = reader.read(page, [], "scan")
    assert r.doc_type.needs_review
    assert any("script, which languages eng+fra cannot read" in e for e in r.errors), r.errors


def test_given_a_blurred_camera_page_of_latin_print_when_read_then_no_other_script_is_named(
    reader: PageReader,
) -> None:
    """Tesseract's script detection named Arabic for this defocused still of an English receipt
    (a corpus page), with little confidence in what it saw: the user is told the page is
    barely readable, not that it is in a language the station cannot read."""
    from models.classifier.data import page_specs
    from models.corpus import generate_page

    spec = next(s for s in page_specs("val", 12) if s.index == 11)
    r = reader.read(generate_page(spec.seed, spec.profile, spec.lang, spec.doc_type).image, [], "webcam")
    assert not any("looks like" in e for e in r.errors), r.errors
    assert any("barely readable" in e for e in r.errors), r.errors
    assert r.doc_type.needs_review


@pytest.mark.parametrize(
    ("image", "reason"),
    [
        (np.zeros((1, 1, 3), np.uint8), "too small"),
        (np.zeros((0, 0), np.uint8), "not an image"),
        (np.frombuffer(b"%PDF-1.4 garbage bytes", np.uint8), "not an image"),
        (np.zeros((20, 20, 5), np.uint8), "channel"),
        (np.array([["a", "b"], ["c", "d"]], dtype=object), "pixel type"),
    ],
)
def test_given_unusable_array_when_read_then_clear_error(
    reader: PageReader, image: np.ndarray, reason: str
) -> None:
    r = reader.read(image, [], "scan")
    assert r.text == "" and r.doc_type.needs_review
    assert any(reason in e for e in r.errors), r.errors


def test_given_20000_px_image_when_read_then_scaled_not_refused(reader: PageReader) -> None:
    page = np.full((400, 20_000), 255, np.uint8)
    cv2.putText(page, "WIDE BANNER", (500, 250), cv2.FONT_HERSHEY_SIMPLEX, 6, 0, 12)
    r = reader.read(page, [], "webcam")
    assert not any("unreadable" in e for e in r.errors)


def test_given_odd_pixel_formats_when_read_then_converted(reader: PageReader) -> None:
    page = render(LINES[:3], size=(900, 300))
    rgba = cv2.cvtColor(page, cv2.COLOR_BGR2BGRA)
    sixteen = cv2.cvtColor(page, cv2.COLOR_BGR2GRAY).astype(np.uint16) * 257
    for img in (rgba, sixteen):
        assert "INV-2024-0042" in reader.read(img, [], "scan").text


def test_given_tiny_timeout_when_read_then_ocr_error_not_hang() -> None:
    r = PageReader(ReaderConfig(classifier=ARTIFACT, ocr_timeout_s=0.001)).read(render(LINES), [], "scan")
    assert any("timed out" in e for e in r.errors)
    assert r.doc_type.needs_review


def test_given_missing_classifier_when_read_then_ocr_still_works_and_error_says_why() -> None:
    r = PageReader(ReaderConfig(classifier=Path("/nonexistent/model.onnx"))).read(
        render(LINES[:4], size=(900, 300)), [], "scan"
    )
    assert "INV-2024-0042" in r.text
    assert r.doc_type.label == "other" and r.doc_type.needs_review
    assert any("not found" in e for e in r.errors)
    assert r.classifier.version == "unavailable"


def test_given_page_too_small_in_camera_frame_when_read_then_told_to_hold_it_closer(
    reader: PageReader,
) -> None:
    # A whole A4 page held far from a 640x480 camera: ~400 px long, body text ~3 px high.
    page = render(LINES * 6, size=(300, 420), font_px=6)
    frame = np.full((480, 640, 3), (40, 70, 110), np.uint8)  # a brown desk
    frame[30:450, 170:470] = page
    r = reader.read(frame, [], "webcam")
    assert any("too small to read" in e and "hold the document closer" in e for e in r.errors), r.errors
    assert not any("script" in e for e in r.errors)  # not mistaken for another script
    assert r.doc_type.needs_review
    # The same words large enough in the frame are read, without that message.
    big = reader.read(render(LINES), [], "webcam")
    assert "INV-2024-0042" in big.text
    assert not any("too small" in e for e in big.errors)


def _paste(frame: np.ndarray, page: np.ndarray, quad: np.ndarray) -> np.ndarray:
    """``frame`` with ``page`` warped onto ``quad`` (tl, tr, br, bl)."""
    h, w = frame.shape[:2]
    ph, pw = page.shape[:2]
    src = np.array([[0, 0], [pw, 0], [pw, ph], [0, ph]], np.float32)
    m = cv2.getPerspectiveTransform(src, quad.astype(np.float32))
    warped = cv2.warpPerspective(page, m, (w, h))
    inside = cv2.warpPerspective(np.full((ph, pw), 255, np.uint8), m, (w, h)) > 0
    out = frame.copy()
    out[inside] = warped[inside]
    return out


def test_given_printed_page_beside_blank_sheet_when_page_found_then_the_printed_one() -> None:
    from edge.read.preprocess import find_page

    desk = np.full((720, 1280, 3), (40, 60, 90), np.uint8)
    lined = np.full((560, 400, 3), 235, np.uint8)  # a lined blank sheet, bigger than the page
    for y in range(40, 540, 30):
        cv2.line(lined, (30, y), (370, y), (150, 150, 150), 1)
    desk = _paste(desk, lined, np.array([[40, 60], [560, 40], [590, 700], [60, 715]], np.float32))
    page = render(LINES * 3, size=(800, 1130), font_px=22)
    cv2.rectangle(page, (40, 700), (760, 1000), (30, 30, 30), 3)  # a ruled table: lines, not edges
    cv2.line(page, (40, 780), (760, 780), (30, 30, 30), 2)
    quad = np.array([[700, 60], [1130, 80], [1110, 680], [680, 660]], np.float32)
    found = find_page(cv2.cvtColor(_paste(desk, page, quad), cv2.COLOR_BGR2GRAY))
    assert found is not None
    assert np.abs(found - quad).max() < 0.02 * np.hypot(1280, 720), found


def test_given_outlines_of_sheet_shapes_when_scored_then_only_skewed_sides_lose_odds() -> None:
    from edge.read.preprocess import _parallel_odds

    square = np.array([[0, 0], [100, 0], [100, 140], [0, 140]], np.float32)
    seen_at_an_angle = np.array([[0, 0], [100, 8], [96, 150], [4, 140]], np.float32)  # a few degrees
    two_sheets = np.array([[0, 0], [100, 0], [160, 140], [0, 140]], np.float32)  # one side 23 degrees off
    assert _parallel_odds(square) == 1.0
    assert _parallel_odds(seen_at_an_angle) == 1.0
    assert _parallel_odds(two_sheets) < 0.5


def test_given_still_where_two_sheets_make_a_quadrilateral_when_page_found_then_the_page() -> None:
    """Validation still 156: a purchase order on a lined sheet, with another sheet beside them.
    Edges of the two lying at different angles made the best-scored outline (IoU 0.16 with the
    page); a sheet seen from above keeps its opposite sides near parallel."""
    from edge.read.preprocess import find_page, to_gray
    from models.corpus import generate_page

    page = generate_page(1904335321, "webcam", "fr", "purchase_order")
    gray = to_gray(page.image)
    found = find_page(gray)
    assert found is not None
    a, b = np.zeros(gray.shape, np.uint8), np.zeros(gray.shape, np.uint8)
    cv2.fillConvexPoly(a, found.round().astype(np.int32), 1)
    cv2.fillConvexPoly(b, np.asarray(page.meta["degradation"]["page_quad"]).round().astype(np.int32), 1)
    assert (a & b).sum() / (a | b).sum() > 0.75


def test_given_a_tilted_page_running_out_of_the_frame_when_prepared_then_levelled_past_eight_degrees(
    reader: PageReader,
) -> None:
    """Validation still 15: a delivery note turned about 16 degrees, its top corners out of the
    frame. The outline runs along the frame's border there, so flattening does not level the
    page, and the skew search must reach past the 8 degrees a whole outline needs."""
    from models.corpus import generate_page

    page = generate_page(1658333802, "webcam", "en", "delivery_note")
    prep = prepare(page.image, "webcam")
    assert prep.page_found and abs(prep.skew) > 8.0
    reading = reader.read(page.image, [], "webcam")
    truth = set(page.meta["text"].split())
    assert len(truth & set(reading.text.split())) >= 0.5 * len(truth)


def test_given_page_held_by_thumbs_with_long_text_lines_when_page_found_then_its_outline() -> None:
    """Thumbs split the page's top and bottom sides into pieces shorter than its lines of text,
    and a blank sheet under it joins it in one bright region; the text lines, straight and long but with paper on both sides, must not crowd out the
    sheet's sides among the straight edges the outline is built from."""
    from edge.read.preprocess import find_page

    desk = np.full((720, 1280, 3), (45, 45, 45), np.uint8)
    # A blank sheet under the page, sticking out to its left: one bright region with it.
    under = np.full((500, 380, 3), 225, np.uint8)
    desk = _paste(desk, under, np.array([[330, 300], [560, 250], [600, 690], [360, 715]], np.float32))
    long_lines = [f"Article {i} - " + "the parties agree to terms and conditions " * 2 for i in range(30)]
    page = render(long_lines, size=(820, 1160), font_px=16)
    quad = np.array([[430, 50], [860, 62], [848, 672], [418, 660]], np.float32)
    frame = _paste(desk, page, quad)
    for cx, cy in ((600, 55), (700, 666)):  # a thumb over each of the two long sides
        cv2.ellipse(frame, (cx, cy), (24, 45), 0, 0, 360, (120, 125, 130), -1)
    found = find_page(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY))
    assert found is not None
    assert np.abs(found - quad).max() < 0.02 * np.hypot(1280, 720), found


def test_given_printed_page_beside_squared_blank_sheet_when_page_found_then_the_printed_one() -> None:
    """A squared blank sheet has as many edges inside as a printed page, but they run on as long
    strokes; only the short edges of print say which sheet is the document being shown."""
    from edge.read.preprocess import find_page

    desk = np.full((720, 1280, 3), (40, 40, 40), np.uint8)
    squared = np.full((640, 470, 3), 240, np.uint8)
    for v in range(14, 630, 14):
        cv2.line(squared, (10, v), (460, v), (140, 140, 140), 1)
        if v < 460:
            cv2.line(squared, (v, 10), (v, 630), (140, 140, 140), 1)
    desk = _paste(desk, squared, np.array([[40, 30], [590, 50], [570, 710], [30, 690]], np.float32))
    page = render(LINES, size=(800, 1130), font_px=22)
    quad = np.array([[760, 110], [1120, 120], [1105, 620], [745, 610]], np.float32)
    found = find_page(cv2.cvtColor(_paste(desk, page, quad), cv2.COLOR_BGR2GRAY))
    assert found is not None
    assert np.abs(found - quad).max() < 0.02 * np.hypot(1280, 720), found


HANDWRITING_FONT = Path("/usr/share/fonts/truetype/kristi/Kristi.ttf")


def test_given_scan_with_handwritten_notes_when_read_then_unsure_words_leave_the_text_not_the_words(
    reader: PageReader,
) -> None:
    if not HANDWRITING_FONT.is_file():
        pytest.skip(f"font {HANDWRITING_FONT} not installed (fonts-kristi, scripts/setup)")
    img = Image.fromarray(render(LINES)[:, :, ::-1].copy())
    draw = ImageDraw.Draw(img)
    hand = ImageFont.truetype(str(HANDWRITING_FONT), 44)
    draw.text((600, 560), "lu et approuvé, Marcel", font=hand, fill=(30, 40, 120))
    draw.text((560, 660), "bon pour accord 12/3", font=hand, fill=(30, 40, 120))
    r = reader.read(np.ascontiguousarray(np.asarray(img)[:, :, ::-1]), [], "scan")
    assert all(line in r.text for line in LINES)  # every printed line kept, in full
    unsure = [w["text"] for w in r.words if w["conf"] < TEXT_MIN_CONF]
    assert unsure  # Tesseract's guesses at the handwriting are still in the words...
    tokens = r.text.split()
    assert not [t for t in unsure if t in tokens]  # ...and not in the text
    assert set(unsure) <= set(r.ocr_text.split())  # the classifier still reads every word
    assert r.lines == [ln for ln in r.text.split("\n") if ln]


def test_given_mostly_confident_scan_when_text_words_then_unsure_words_dropped_and_indices_renumbered() -> (
    None
):
    page = page_from_text("Invoice No 12\nTotal 30.00\nscrawl")
    for w in page.words:
        w.conf = 0.2 if w.text == "scrawl" else 0.9
    kept = text_words(page, "scan")
    assert kept.text == "Invoice No 12\nTotal 30.00"
    assert [w.index for w in kept.words] == list(range(len(kept.words)))
    assert text_words(page, "webcam") is page  # frames keep every word


@pytest.mark.parametrize("profile", ["scan", "webcam"])
def test_given_a_form_rule_read_as_a_bar_when_text_words_then_the_bar_is_not_text(profile: str) -> None:
    page = page_from_text("| Account holder |\nShawn Williams ||\nTel 0102 | Fax 0304")
    for w in page.words:
        w.conf = 0.9
    kept = text_words(page, profile)
    assert kept.text == "Account holder\nShawn Williams\nTel 0102 Fax 0304"
    assert len(page.words) == 12  # every word is still there for the fields


def test_given_page_read_poorly_throughout_when_text_words_then_everything_kept() -> None:
    page = page_from_text("Facture 12\nTotal 30,00 EUR")
    for w in page.words:
        w.conf = 0.3
    page.words[0].conf = 0.9
    assert text_words(page, "scan") is page


@pytest.mark.parametrize(
    ("seed", "doc_type"),
    [
        (4052735111, "receipt"),  # the outline found is the lined blank sheet under the receipt
        (1673195344, "contract"),  # a quadrilateral across three sheets; grey reads, flattened not
    ],
)
def test_given_corpus_still_whose_outline_is_the_wrong_sheet_when_read_then_the_whole_frame_is_read(
    reader: PageReader, seed: int, doc_type: str
) -> None:
    """Two test-split webcam stills that read no text at all from the outline the page search
    picked; read again as the whole frame they give most of the page's words."""
    from models.corpus import generate_page

    page = generate_page(seed, "webcam", "fr", doc_type)
    reading = reader.read(page.image, [], "webcam")
    truth = set(page.meta["text"].split())
    got = set(reading.text.split())
    assert len(truth & got) >= 0.5 * len(truth), (len(truth & got), len(truth), reading.errors)


@pytest.mark.parametrize(
    ("seed", "doc_type", "number"),
    [
        (1904335321, "purchase_order", "BC991495"),  # the best outline spans two sheets
        (1388981206, "invoice", "FAC123773"),  # the best outline takes a neighbour's edge
    ],
)
def test_given_still_whose_best_outline_is_wrong_when_read_then_another_outline_found_reads_it(
    reader: PageReader, seed: int, doc_type: str, number: str
) -> None:
    """Two validation-split stills: the outline scored best gives a cut or stretched page with
    few confident words; the next outline found is the page, and the reader reads it."""
    from edge.read.preprocess import find_pages, limit_size, to_gray
    from models.corpus import generate_page

    page = generate_page(seed, "webcam", "fr", doc_type)
    outlines = find_pages(limit_size(to_gray(page.image))[0], keep=3)
    assert len(outlines) >= 2  # distinct readings of the frame, not one outline three times
    reading = reader.read(page.image, [], "webcam")
    assert reading.fields.values["number"].value == number
    truth = set(page.meta["text"].split())
    assert len(truth & set(reading.text.split())) >= 0.5 * len(truth)


def test_given_a_receipt_whose_total_comes_from_its_cash_lines_when_read_then_it_goes_to_review(
    reader: PageReader,
) -> None:
    lines = [
        "CORNER SHOP",
        "Receipt No. 0042-118230",
        "Date: 25/12/2018 12:31",
        "Coffee beans 1 24.40",
        "Total Sales (Inclusive of GST) : CSN",
        "Cash : 30.00",
        "Change : 5.60",
        "Thank you, please come again",
    ]
    r = reader.read(render(lines, size=(1100, 700)), [], "scan")
    assert r.fields.values["total"].value == "24.40"
    assert any(c.name == "total_from_cash" and not c.ok for c in r.fields.checks)
    assert r.doc_type.needs_review  # the total was worked out, not read: a person confirms it


def _coloured_page(lines: list[tuple[str, tuple[int, int, int]]], angle: float = 0.0) -> np.ndarray:
    """A white scan of text lines in the given RGB colours; the last line turned by ``angle``
    degrees on its own, as a stamp is set."""
    if not FONT.is_file():
        pytest.skip(f"font {FONT} not installed (fonts-dejavu-core)")
    img = Image.new("RGB", (1300, 900), "white")
    draw = ImageDraw.Draw(img)
    font = ImageFont.truetype(str(FONT), 30)
    for k, (text, colour) in enumerate(lines[:-1] if angle else lines):
        draw.text((60, 40 + 60 * k), text, fill=colour, font=font)
    if angle:
        text, colour = lines[-1]
        stamp = Image.new("RGBA", (900, 80), (255, 255, 255, 0))
        ImageDraw.Draw(stamp).text((10, 20), text, fill=(*colour, 255), font=font)
        stamp = stamp.rotate(angle, expand=True, resample=Image.Resampling.BICUBIC)
        img.paste(stamp, (200, 500), stamp)
    return np.ascontiguousarray(np.asarray(img)[:, :, ::-1])


FAINT_LINES = [
    ("Invoice No.: INV-2024-0042", (20, 20, 20)),
    ("Date: 2024-03-15", (20, 20, 20)),
    ("Total EUR 360.00", (20, 20, 20)),
    ("Amazon Glacier storage charges", (255, 165, 0)),  # orange heading: ~170 grey
    ("All charges and prices are in US Dollars", (165, 165, 165)),  # grey small print
]


def test_given_faint_and_coloured_print_when_lifted_then_only_it_darkens() -> None:
    from edge.read.preprocess import lift_faint, to_gray

    gray = to_gray(_coloured_page(FAINT_LINES))
    out, n = lift_faint(gray)
    assert n > 0
    faint_rows, black_rows = slice(210, 340), slice(30, 200)
    # The faint lines now reach near-black; Otsu on the whole page keeps them as ink.
    assert gray[faint_rows].min() > 140 and out[faint_rows].min() < 80
    _, ink = cv2.threshold(out, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    assert np.count_nonzero(ink[faint_rows]) > 0.5 * np.count_nonzero(gray[faint_rows] < 230)
    # Black text, its soft edges and the paper are left exactly as they were.
    assert np.array_equal(out[black_rows], gray[black_rows])
    assert np.array_equal(out[400:], gray[400:])


def test_given_a_faded_stamp_a_signature_box_or_paper_noise_when_lifted_then_nothing_changes() -> None:
    from edge.read.preprocess import lift_faint, to_gray

    words = [*FAINT_LINES[:3], ("RECEIVED 12 MAR 2024", (170, 170, 220))]
    assert lift_faint(to_gray(_coloured_page(words)))[1] > 0  # level, it is faint print
    stamp = to_gray(_coloured_page(words, angle=18))
    out, n = lift_faint(stamp)
    assert n == 0 and np.array_equal(out, stamp)
    # Nor where a signature was painted out: its strokes' faint fringe is not print.
    level = to_gray(_coloured_page(words))
    allowed = np.full(level.shape, 255, np.uint8)
    allowed[200:360] = 0  # the faint lines' rows
    out, n = lift_faint(level, allowed)
    assert n == 0 and np.array_equal(out, level)
    rng = np.random.default_rng(0)
    paper = np.clip(rng.normal(235, 8, (1200, 900)), 0, 255).astype(np.uint8)
    out, n = lift_faint(paper)
    assert n == 0 and np.array_equal(out, paper)


def test_given_orange_headings_and_grey_small_print_when_read_then_their_words_are_in_the_text(
    reader: PageReader,
) -> None:
    text = reader.read(_coloured_page(FAINT_LINES), [], "scan").text
    assert "INV-2024-0042" in text
    for word in ("Glacier", "storage", "charges", "Dollars", "prices"):
        assert word in text, text


def test_given_a_signature_box_when_a_scan_is_prepared_then_no_print_inside_it_is_lifted() -> None:
    page = _coloured_page(FAINT_LINES)
    h = page.shape[0]
    faint_rows = slice(int(0.25 * h), int(0.38 * h))
    free = prepare(page, "scan")
    assert free.gray[faint_rows].min() < 80  # lifted where nothing was signed
    boxed = prepare(page, "scan", [(0.0, 0.2, 1.0, 0.42)])  # the box the detector would give
    assert boxed.gray[faint_rows].min() > 140


@pytest.mark.parametrize(("rotation", "skew"), [(0, 0.0), (0, 3.0), (90, -2.0), (180, 0.0), (270, 5.0)])
def test_given_a_point_of_the_input_when_mapped_then_it_lies_where_prepare_put_it(
    rotation: int, skew: float
) -> None:
    from edge.read.preprocess import Prepared, input_to_page, turn

    image = np.full((600, 800), 255, np.uint8)
    cv2.circle(image, (130, 470), 6, 0, -1)
    scale = 1.5
    work = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    work = rotate(turn(work, rotation), skew)
    prep = Prepared(gray=work, binary=work, scale=scale, rotation=rotation, skew=skew)
    ((x, y),) = input_to_page(prep, image.shape, np.array([[130.0, 470.0]]))
    ys, xs = np.nonzero(work < 128)
    h, w = work.shape
    assert abs(x * w - xs.mean()) < 2 and abs(y * h - ys.mean()) < 2


def test_given_a_word_away_from_painted_strokes_when_judged_then_not_near_them() -> None:
    from edge.read.reader import _near_strokes

    painted = np.full((1000, 800), 255, np.uint8)
    painted[300:320, 100:700] = 0  # a stroke painted out
    word_height = 0.025  # 25 px
    below_far = (0.2, 0.36, 0.4, 0.36 + word_height)  # 40 px under the stroke: over half a height
    below_near = (0.2, 0.33, 0.4, 0.33 + word_height)  # 10 px under it
    assert not _near_strokes(below_far, painted)
    assert _near_strokes(below_near, painted)
    assert _near_strokes(below_far, None)  # nothing known: as near


def test_given_a_signature_box_grazing_a_printed_line_when_read_then_its_number_stays(
    reader: PageReader,
) -> None:
    """Validation receipt 281: a signature box (its lowest loop) reaches the "Trans #:" line,
    whose number Tesseract reads at 0.79. No pen stroke lies near that number, so it is print,
    not scribble, and stays."""
    from edge.detect import Detection
    from models.corpus import generate_page

    page = generate_page(915767868, "scan", "en", "receipt")
    h, w = page.image.shape[:2]
    dets = [
        Detection(box=(s["box"][0] / w, s["box"][1] / h, s["box"][2] / w, s["box"][3] / h), score=1.0)
        for s in page.meta["signatures"]
    ]
    r = reader.read(page.image, dets, "scan")
    assert page.meta["fields"]["number"] in r.text
    assert r.fields.values["number"].value == "6291-153694"
