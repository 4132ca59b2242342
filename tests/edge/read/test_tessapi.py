"""The in-process Tesseract engine (libtesseract's C API) against the tesseract command."""

from __future__ import annotations

import multiprocessing as mp
import os
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from edge.config import ReaderConfig
from edge.read import PageReader
from edge.read.ocr import OcrError, detect_orientation, read_words
from edge.read.tessapi import parse_tsv

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
LINES = ["ACME Supplies Ltd", "Facture N° FA-2024-0042", "Date : 15 mars 2024", "Total TTC 360,00 €"]


def _page() -> np.ndarray:
    if not FONT.is_file():
        pytest.skip(f"font {FONT} not installed (fonts-dejavu-core)")
    img = Image.new("L", (1100, 500), 255)
    draw = ImageDraw.Draw(img)
    font = ImageFont.truetype(str(FONT), 30)
    for i, line in enumerate(LINES):
        draw.text((60, 40 + 60 * i), line, fill=20, font=font)
    return np.asarray(img).copy()


def _words(page: np.ndarray, engine: str) -> list[tuple[str, float, tuple[float, ...]]]:
    ocr = read_words(page, ["eng", "fra"], 30, engine=engine)  # type: ignore[arg-type]
    return [(w.text, w.conf, w.box) for w in ocr.words]


def test_given_same_page_when_read_by_library_and_command_then_same_words_confidences_and_boxes() -> None:
    page = _page()
    library = _words(page, "libtesseract")
    assert library == _words(page, "command")
    assert " ".join(t for t, _, _ in library).startswith("ACME Supplies Ltd Facture")


def test_given_colour_page_when_read_by_library_then_read_as_grey() -> None:
    page = _page()
    colour = np.dstack([page, page, page])
    assert _words(colour, "libtesseract") == _words(page, "libtesseract")


def test_given_language_without_traineddata_when_read_by_library_then_clear_error() -> None:
    with pytest.raises(OcrError, match="could not load languages 'xxx'"):
        read_words(_page(), ["xxx"], 30)


def test_given_tiny_deadline_when_read_by_library_then_timeout_error() -> None:
    page = np.tile(_page(), (6, 1))  # six times the text: recognition outlasts 1 ms
    with pytest.raises(OcrError, match="timed out"):
        read_words(page, ["eng", "fra"], 0.001)


def _child_reads(q: mp.Queue) -> None:  # type: ignore[type-arg]
    q.put(_words(_page(), "libtesseract"))


def test_given_engine_made_before_fork_when_child_reads_then_it_gets_its_own_engine() -> None:
    page = _page()
    parent = _words(page, "libtesseract")
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=_child_reads, args=(q,))
    p.start()
    got = q.get(timeout=60)
    p.join(30)
    assert p.exitcode == 0 and got == parent


def test_given_reader_set_to_the_command_when_read_then_same_text_as_library() -> None:
    page = np.dstack([_page()] * 3)
    cmd = PageReader(ReaderConfig(ocr_engine="command")).read(page, [], "scan")
    lib = PageReader(ReaderConfig()).read(page, [], "scan")
    assert cmd.text == lib.text and "FA-2024-0042" in lib.text


def test_given_tsv_with_header_short_and_tabbed_lines_when_parsed_then_words_kept_whole() -> None:
    raw = (
        "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext\n"
        "1\t1\t0\t0\t0\t0\t0\t0\t100\t50\t-1\n"
        "5\t1\t1\t1\t1\t1\t10\t12\t30\t14\t96.808075\tTotal\n"
        "5\t1\t1\t1\t1\t2\t45\t12\t30\t14\t41.2\ta\tb\n"
        "garbage\n"
    )
    d = parse_tsv(raw)
    assert d["text"] == ["", "Total", "a\tb"]
    assert d["conf"] == [-1.0, 96.0, 41.0]
    assert d["left"] == [0, 10, 45] and d["word_num"] == [0, 1, 2]


def test_given_leptonica_complains_when_library_loaded_then_message_goes_to_debug_log_not_stderr(
    caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    import ctypes.util

    from edge.read import tessapi

    tessapi.library_version()  # loads libtesseract, and with it leptonica's handler
    lept = ctypes.CDLL(ctypes.util.find_library("lept") or "liblept.so.5")
    lept.boxClipToRectangle.restype = ctypes.c_void_p
    with caplog.at_level("DEBUG", logger="edge.read.tessapi"):
        lept.boxClipToRectangle(None, 10, 10)  # leptonica: "Error in boxClipToRectangle: ..."
    assert "boxClipToRectangle" not in capfd.readouterr().err
    assert any("leptonica: Error in boxClipToRectangle" in r.getMessage() for r in caplog.records)


def test_given_page_whose_layout_analysis_outlasts_the_deadline_when_read_then_timeout_and_next_page_read() -> (
    None
):
    """libtesseract's own deadline covers recognition only; a tall page of noise keeps its layout
    analysis busy for minutes. The helper holding the engine is killed at the deadline."""
    import time

    from edge.read import tessd

    _words(_page(), "libtesseract")  # the helper is up and its models loaded
    before = tessd._HELPERS[os.getpid()].proc.pid
    noise = ((np.random.default_rng(0).random((12000, 1700)) > 0.9) * 255).astype(np.uint8)
    t0 = time.monotonic()
    with pytest.raises(OcrError, match="timed out after 3 s"):
        read_words(noise, ["eng", "fra"], 3.0)
    assert time.monotonic() - t0 < 3.0 + tessd.GRACE_S + 2.0
    assert _words(_page(), "libtesseract")[0][0] == "ACME"  # a fresh helper reads the next page
    assert tessd._HELPERS[os.getpid()].proc.pid != before


def test_given_helper_process_killed_between_pages_when_next_page_read_then_a_new_helper_reads_it() -> None:
    import signal

    from edge.read import tessd

    first = _words(_page(), "libtesseract")
    helper = tessd._HELPERS[os.getpid()]
    os.kill(helper.proc.pid, signal.SIGKILL)
    helper.proc.wait(10)
    assert _words(_page(), "libtesseract") == first
    assert tessd._HELPERS[os.getpid()].proc.pid != helper.proc.pid


@pytest.mark.parametrize(
    ("turn", "rotate"), [(None, 0), (cv2.ROTATE_180, 180), (cv2.ROTATE_90_CLOCKWISE, 270)]
)
def test_given_turned_page_when_orientation_detected_by_library_then_same_answer_as_the_command(
    turn: int | None, rotate: int
) -> None:
    page = np.vstack([_page(), _page(), _page()])  # enough characters for Tesseract's OSD
    if turn is not None:
        page = cv2.rotate(page, turn)
    lib = detect_orientation(page, 20)
    assert lib == detect_orientation(page, 20, engine="command")
    assert lib[0] == rotate and lib[2] == "Latin"


def test_given_blank_page_when_orientation_detected_by_library_then_nothing_to_turn() -> None:
    assert detect_orientation(np.full((800, 600), 255, np.uint8), 20) == (0, 0.0, None)


def test_given_a_fresh_helper_when_warmed_up_then_every_engine_a_page_reads_with_is_loaded_before_the_page() -> (
    None
):
    """The page's engine and the two ``recover`` reads lines with are made at warm-up: the first
    pages do not each wait 0.2-0.3 s for one."""
    import signal

    from edge.read import tessd
    from edge.read.ocr import PAGE_PSM, warm_up
    from edge.read.recover import LINE_PSM, LINES_PSM

    old = tessd._HELPERS.get(os.getpid())
    if old is not None:  # start from a helper with nothing loaded
        os.kill(old.proc.pid, signal.SIGKILL)
        old.proc.wait(10)
    warm_up(["eng", "fra"])
    helper = tessd._HELPERS[os.getpid()]
    assert helper is not old
    assert helper._loaded == {("eng+fra", PAGE_PSM), ("eng+fra", LINE_PSM), ("eng+fra", LINES_PSM)}
    assert _words(_page(), "libtesseract")[0][0] == "ACME"
    assert tessd._HELPERS[os.getpid()] is helper  # the page was read by the warmed helper


def test_given_a_language_not_installed_when_warmed_up_then_a_clear_error_and_the_reader_still_reads(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from edge.read.ocr import warm_up

    with pytest.raises(OcrError, match="libtesseract unavailable"):
        warm_up(["xyz"])
    warm_up(["xyz"], engine="command")  # the command loads its models per page: nothing to do
    reader = PageReader(ReaderConfig(languages=["xyz"]))
    with caplog.at_level("ERROR", logger="edge.read.reader"):
        reader.warm_up()  # logged, not raised: each page then says so in its errors
    assert any("libtesseract unavailable" in r.getMessage() for r in caplog.records)
    assert any("xyz" in e for e in reader.read(_page(), [], "scan").errors)
