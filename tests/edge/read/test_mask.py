"""Signature masking before OCR on rendered pages: the pen strokes in a signature box go, the
printed name or date they are written over stays (and is still read by real Tesseract)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from edge.config import ReaderConfig
from edge.read import PageReader
from edge.read.preprocess import find_page, mask_regions, prepare

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
ARTIFACT = Path(__file__).resolve().parents[3] / "models" / "artifacts" / "classifier.int8.onnx"
SIZE = (1100, 800)  # width, height: the top of a 150 dpi scan
LINES = [
    "ACME Supplies Ltd",
    "Delivery note 4471",
    "Received in good order",
    "Date: 2024-03-15",
]
NAME = "Signed: Martin Dubois"
NAME_AT = (60, 520)
FONT_PX = 30
BOX = (40 / 1100, 410 / 800, 700 / 1100, 640 / 800)  # the signature's box, around NAME


def _font() -> ImageFont.FreeTypeFont:
    if not FONT.is_file():
        pytest.skip(f"font {FONT} not installed (fonts-dejavu-core)")
    return ImageFont.truetype(str(FONT), FONT_PX)


def _print(lines: list[str], name: bool = True) -> np.ndarray:
    """Grey page with the printed lines (and the typed name under the signature)."""
    img = Image.new("L", SIZE, 255)
    draw = ImageDraw.Draw(img)
    font = _font()
    for i, line in enumerate(lines):
        draw.text((60, 40 + i * 48), line, fill=20, font=font)
    if name:
        draw.text(NAME_AT, NAME, fill=20, font=font)
    return np.asarray(img).copy()


def _signature() -> np.ndarray:
    """Ink mask (255 = pen) of a signature written over the typed name: a row of loops above
    it, two long downstrokes (one through a glyph, one through the gap between two words) and
    a flourish under it, all one connected pen line several glyph heights tall."""
    sig = np.zeros(SIZE[::-1], np.uint8)
    t = np.linspace(0, 1, 800)
    x = 90 + 560 * t + 25 * np.sin(2 * np.pi * 9 * t)
    y = 470 - 45 * np.cos(2 * np.pi * 9 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * t))
    cv2.polylines(
        sig, [np.stack([x, y], axis=1).astype(np.int32).reshape(-1, 1, 2)], False, 255, 4, cv2.LINE_AA
    )
    for gap in (112, 281):  # through the "n" of "Signed:", and between "Martin" and "Dubois"
        cv2.line(sig, (gap, 440), (gap, 600), 255, 4, cv2.LINE_AA)
    flourish = np.array([[80, 575], [300, 585], [520, 570], [660, 560]], np.int32).reshape(-1, 1, 2)
    cv2.polylines(sig, [flourish], False, 255, 4, cv2.LINE_AA)
    return sig


def _signed_page() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The page with the signature written over the typed name, the signature's ink and the
    typed name's ink (both 255 = ink, each drawn alone)."""
    printed = _print(LINES)
    sig = _signature()
    page = np.minimum(printed, 255 - (sig.astype(np.int32) * 225 // 255).astype(np.uint8))
    name_ink = 255 - _print([], name=True)
    return page, sig, name_ink


def _in_box(mask: np.ndarray, box: tuple[float, float, float, float] = BOX) -> np.ndarray:
    """Where ``mask`` (255 = ink) has ink inside the normalised ``box``."""
    h, w = mask.shape
    out = np.zeros(mask.shape, bool)
    out[int(box[1] * h) : int(box[3] * h), int(box[0] * w) : int(box[2] * w)] = True
    return out & (mask > 127)


def _untouched(glyphs: np.ndarray, pen: np.ndarray) -> np.ndarray:
    """The ink of the glyphs that the pen's line (with its anti-aliased edge) does not touch."""
    n, labels = cv2.connectedComponents((glyphs > 0).astype(np.uint8), connectivity=8)
    touched = np.unique(labels[cv2.dilate(pen, np.ones((5, 5), np.uint8)) > 0])
    keep = np.ones(n, bool)
    keep[touched] = False
    keep[0] = False
    return keep[labels] & (glyphs > 127)


def test_given_signature_over_typed_name_when_masked_then_strokes_gone_and_print_kept() -> None:
    page, sig, name_ink = _signed_page()
    out = mask_regions(page, [BOX])
    # the pen's line is painted with the paper colour, with the glyph it crosses
    pen = _in_box(sig)
    assert pen.sum() > 5000
    assert (out[pen] > 200).all()
    # the glyphs it does not touch are left as they were: most of the typed name
    kept = _untouched(name_ink, sig)
    assert kept.sum() > 0.8 * _in_box(name_ink).sum()
    assert (out[kept] == page[kept]).all()
    # nothing outside the box changes
    outside = ~_in_box(np.full_like(page, 255))
    assert (out[outside] == page[outside]).all()


def test_given_colour_scan_when_masked_then_same_strokes_go() -> None:
    page, _, _ = _signed_page()
    colour = cv2.cvtColor(page, cv2.COLOR_GRAY2BGR)
    out = mask_regions(colour, [BOX])
    assert out.shape == colour.shape
    assert (out == mask_regions(page, [BOX])[:, :, None]).all()


def test_given_box_without_ink_when_masked_then_page_unchanged() -> None:
    page = _print(LINES, name=False)
    assert (mask_regions(page, [BOX]) == page).all()


@pytest.mark.parametrize(
    "boxes",
    [
        [],
        [(0.5, 0.5, 0.5, 0.5)],  # empty
        [(0.7, 0.7, 0.2, 0.2)],  # inverted
        [(1.2, 1.2, 1.8, 1.9)],  # past the page
        [(-0.8, -0.6, -0.1, -0.2)],  # before it
        [(float("-inf"), 0.1, float("inf"), 0.2), (float("nan"), 0, 1, 1)],
    ],
)
def test_given_box_that_marks_nothing_when_masked_then_page_unchanged(
    boxes: list[tuple[float, float, float, float]],
) -> None:
    page, _, _ = _signed_page()
    assert (mask_regions(page, boxes) == page).all()


@pytest.mark.parametrize(
    "image",
    [
        np.zeros((0, 0), np.uint8),
        np.full((1, 1), 255, np.uint8),
        np.zeros((1, 1), np.uint8),
        np.full((1, 1, 3), 40, np.uint8),
        np.full((7, 3), 128, np.uint8),
    ],
)
def test_given_tiny_or_empty_image_when_masked_then_no_crash(image: np.ndarray) -> None:
    out = mask_regions(image, [(0.0, 0.0, 1.0, 1.0)])
    assert out.shape == image.shape and out.dtype == image.dtype


def test_given_whole_box_asked_when_masked_then_all_of_it_painted() -> None:
    page, _, _ = _signed_page()
    out = mask_regions(page, [BOX], strokes_only=False)
    assert (out[_in_box(np.full_like(page, 255))] == 255).all()


def test_given_unevenly_lit_page_when_whole_box_painted_then_with_the_paper_around_it() -> None:
    """A camera page is lit unevenly: a box painted the page's brightest paper stands out on its
    dim side as a bright block, which Tesseract's layout takes for a picture (on 80 validation
    stills, painting each box its own paper took the CER from 22.75% to 22.01%)."""
    from edge.read.preprocess import mask_warped

    page, _, _ = _signed_page()
    h, w = page.shape[:2]
    light = np.linspace(1.0, 0.6, w, dtype=np.float32)[None, :]  # dimmer to the right
    dim = (page.astype(np.float32) * light).astype(np.uint8)
    right = (0.7, 0.5, 0.95, 0.7)  # a box on the dim side, over paper only
    local = float(np.percentile(dim[int(0.5 * h) : int(0.7 * h), int(0.7 * w) : int(0.95 * w)], 90))
    assert int(np.percentile(dim, 90)) - local > 30  # the page's paper is far brighter
    for out in (
        mask_regions(dim, [right], strokes_only=False),
        mask_warped(dim, [right], dim.shape, np.eye(3)),
    ):
        inner = out[int(0.55 * h) : int(0.65 * h), int(0.75 * w) : int(0.9 * w)]
        assert abs(float(inner.mean()) - local) < 6


def test_given_signed_scan_when_prepared_then_typed_name_kept() -> None:
    page, sig, name_ink = _signed_page()
    kept = _untouched(name_ink, sig)
    scan = prepare(page, "scan", [BOX]).gray
    assert scan.shape == page.shape  # not rescaled or deskewed: pixels compare one to one
    assert (scan[kept] < 128).mean() > 0.95
    assert (scan[_in_box(sig)] > 200).mean() > 0.99


def test_given_signed_webcam_frame_without_page_outline_when_prepared_then_whole_box_painted() -> None:
    # A dim frame that is all page: no outline is found and the frame is read as it is. Webcam
    # readings keep no geometry to drop scribble words by after OCR, so the whole box goes.
    page, _, _ = _signed_page()
    frame = (20 + (page.astype(np.float32) - 20) * 40 / 235).astype(np.uint8)
    assert find_page(frame) is None
    out = prepare(frame, "webcam", [BOX]).gray
    h, w = out.shape
    inner = out[int(BOX[1] * h) + 8 : int(BOX[3] * h) - 8, int(BOX[0] * w) + 8 : int(BOX[2] * w) - 8]
    assert int(inner.max()) - int(inner.min()) <= 2


@pytest.fixture(scope="module")
def reader() -> PageReader:
    return PageReader(ReaderConfig(classifier=ARTIFACT, ocr_timeout_s=30))


def test_given_signature_over_typed_name_when_scan_read_then_name_read(reader: PageReader) -> None:
    from edge.detect import Detection

    page, _, _ = _signed_page()
    r = reader.read(page, [Detection(box=BOX, score=0.9)], "scan")
    assert "Martin Dubois" in r.text
    assert "2024-03-15" in r.text


def test_given_signature_when_scan_prepared_then_where_strokes_were_painted_is_kept() -> None:
    page, sig, _ = _signed_page()
    prep = prepare(page, "scan", [BOX])
    assert prep.painted is not None and prep.painted.shape == prep.gray.shape
    painted = prep.painted < 128
    assert painted.sum() > 0.5 * _in_box(sig).sum()  # the pen's line
    # nothing outside the (padded) box
    h, w = painted.shape
    box = np.zeros(painted.shape, bool)
    box[
        int((BOX[1] - 0.02) * h) : int((BOX[3] + 0.02) * h),
        int((BOX[0] - 0.02) * w) : int((BOX[2] + 0.02) * w),
    ] = True
    assert not (painted & ~box).any()
    assert prepare(page, "scan", []).painted is None
