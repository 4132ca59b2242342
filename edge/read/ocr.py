"""Tesseract through pytesseract: words with boxes and confidences, lines and blocks in reading
order, and the page orientation. Every Tesseract call has a timeout, so a pathological page
cannot hang a worker.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import asdict, dataclass, field, replace
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal

import cv2
import numpy as np
import pytesseract

if TYPE_CHECKING:
    from edge.read import tessd

log = logging.getLogger(__name__)

# Tesseract's default also re-reads low-confidence words as white-on-black text; documents here
# are dark on light after binarisation, so that second pass only costs time.
BASE_CONFIG = "--oem 1 -c tessedit_do_invert=0"


MIN_READ_S = 0.5  # a recovery read is not started with less of the page's timeout left


class OcrError(RuntimeError):
    """Tesseract failed or ran out of time on a page."""


@dataclass
class Word:
    """One recognised word; ``box`` is (x1, y1, x2, y2) normalised to the page read."""

    text: str
    conf: float  # 0..1
    box: tuple[float, float, float, float]
    block: int
    par: int
    line: int
    index: int = 0  # position in reading order (what FieldValue.words refers to)
    hand: float = 0.0  # the handwriting model's P(written by hand); 0 where it did not look

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["box"] = [round(v, 5) for v in self.box]
        d["conf"] = round(self.conf, 3)
        d["hand"] = round(self.hand, 3)
        return d


def union_box(boxes: list[tuple[float, float, float, float]]) -> tuple[float, float, float, float]:
    """The smallest box (x1, y1, x2, y2) holding all of ``boxes`` (at least one)."""
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


@dataclass
class Line:
    """Words of one text line, in order; ``words`` holds indices into ``OcrPage.words``."""

    words: list[int]
    text: str
    block: int
    box: tuple[float, float, float, float]


@dataclass
class OcrPage:
    words: list[Word] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    blocks: list[list[int]] = field(default_factory=list)  # line indices per block
    size: tuple[int, int] = (0, 0)  # (width, height) in pixels of the image read; (0, 0) unknown

    @property
    def text(self) -> str:
        """Lines joined by newlines, blocks separated by a blank line (reading order)."""
        parts = []
        for block in self.blocks:
            parts.append("\n".join(self.lines[i].text for i in block))
        return "\n\n".join(p for p in parts if p)

    @property
    def mean_conf(self) -> float:
        return float(np.mean([w.conf for w in self.words])) if self.words else 0.0


@lru_cache(maxsize=1)
def tesseract_version() -> str:
    """Version string of the Tesseract binary (e.g. ``5.3.0``)."""
    try:
        return str(pytesseract.get_tesseract_version()).split()[0]
    except Exception as exc:  # binary missing: reported by the reader as an error
        log.warning("tesseract version unavailable: %s", exc)
        return "unavailable"


def _call(fn: Any, *args: Any, timeout: float, **kwargs: Any) -> Any:
    try:
        return fn(*args, timeout=timeout, **kwargs)
    except RuntimeError as exc:
        # pytesseract signals its timeout as a bare RuntimeError
        if "timeout" in str(exc).lower():
            raise OcrError(f"tesseract timed out after {timeout:.0f} s") from exc
        raise OcrError(f"tesseract failed: {exc}") from exc
    except pytesseract.TesseractNotFoundError as exc:
        raise OcrError("tesseract is not installed") from exc
    except pytesseract.TesseractError as exc:
        raise OcrError(f"tesseract failed: {exc.message or exc}") from exc


OcrEngine = Literal["libtesseract", "command"]

PAGE_PSM = 3  # Tesseract's page segmentation mode for a whole page: its own layout analysis


def _data(binary: np.ndarray, lang: str, psm: int, timeout: float, engine: OcrEngine) -> dict[str, list[Any]]:
    """Tesseract's words on the page (pytesseract's ``image_to_data`` columns), by either engine."""
    if engine == "command":
        return _call(  # type: ignore[no-any-return]
            pytesseract.image_to_data,
            binary,
            lang=lang,
            config=f"{BASE_CONFIG} --psm {psm}",
            output_type=pytesseract.Output.DICT,
            timeout=timeout,
        )
    from edge.read import tessapi

    return tessapi.parse_tsv(_helper_text(binary, lang, psm, timeout))


def _helper_text(image: np.ndarray, lang: str, psm: int, timeout: float) -> str:
    """What the Tesseract helper process (``edge.read.tessd``) answers for a page: TSV, or for
    psm 0 the orientation text; its failures as ``OcrError``, worded as the command's."""
    from edge.read import tessd

    gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    try:
        return tessd.read_tsv(gray, lang, psm, timeout)
    except tessd.TessdError as exc:
        raise _helper_error(exc, timeout) from exc


def _helper_error(exc: tessd.TessdError, timeout: float) -> OcrError:
    """A ``tessd.TessdError`` worded as the command's failures are."""
    if exc.kind == "timeout":
        return OcrError(f"tesseract timed out after {timeout:.0f} s")
    if exc.kind == "unavailable":
        return OcrError(f"OCR engine libtesseract unavailable: {exc} (or set ocr_engine: command)")
    return OcrError(f"tesseract failed: {exc}")


def warm_up(languages: list[str], engine: OcrEngine = "libtesseract") -> None:
    """Start the Tesseract helper and load the engines a page's reads use (the page, and the
    lines ``recover_missed`` reads again) now, rather than on the first pages, which would each
    wait 0.2-0.3 s per engine. The ``command`` engine loads its models on every call: nothing
    to do. Raises ``OcrError`` where the helper or a language cannot be loaded."""
    if engine != "libtesseract":
        return
    from edge.read import tessd
    from edge.read.recover import LINE_PSM, LINES_PSM

    try:
        tessd.preload("+".join(languages) or "eng", (PAGE_PSM, LINE_PSM, LINES_PSM))
    except tessd.TessdError as exc:
        raise _helper_error(exc, tessd.STARTUP_S) from exc


def read_words(
    binary: np.ndarray,
    languages: list[str],
    timeout: float,
    psm: int = PAGE_PSM,
    order: bool = True,
    engine: OcrEngine = "libtesseract",
    recover_missed: bool = False,
    sharp: bool = False,
) -> OcrPage:
    """Run Tesseract on a prepared page and group its words into lines and blocks.

    With ``order`` (the default) tables are read row by row and side-by-side blocks left to
    right (``edge.read.order``); without it the page keeps Tesseract's own block order.
    ``engine`` ``libtesseract`` keeps one engine loaded in a helper process beside this one
    (``edge.read.tessd``); ``command`` runs the ``tesseract`` command through pytesseract, a
    process per page. Both are killed when a page outlasts ``timeout``; the reads of
    ``recover_missed`` (lines of print the page segmentation left out) share what the page's
    first read left of it, stop when under MIN_READ_S is left, and start no read once they have
    taken as long as the first read did. ``sharp`` (a scan, not a
    camera page) lets them look for those lines at half size.
    """
    h, w = binary.shape[:2]
    lang = "+".join(languages) or "eng"
    started = time.monotonic()
    data = _data(binary, lang, psm, timeout, engine)
    if recover_missed:
        from edge.read.recover import recover  # recover.py works on Tesseract's columns only

        first = time.monotonic() - started

        def read_more(image: np.ndarray, p: int) -> dict[str, list[Any]] | None:
            spent = time.monotonic() - started
            left = timeout - spent  # the page's reads share its timeout
            # ... and together take no longer than the page's own read did
            if left < MIN_READ_S or spent - first > first:
                return None
            return _data(image, lang, p, left, engine)

        gray = binary if binary.ndim == 2 else cv2.cvtColor(binary, cv2.COLOR_BGR2GRAY)
        data = recover(gray, data, read_more, half=sharp)
    page = OcrPage(size=(w, h))
    line_of: dict[tuple[int, int, int], int] = {}
    block_of: dict[int, int] = {}
    for i in range(len(data["text"])):
        text = (data["text"][i] or "").strip()
        conf = float(data["conf"][i])
        if not text or conf < 0:
            continue
        x, y, bw, bh = (int(data[k][i]) for k in ("left", "top", "width", "height"))
        key = (int(data["block_num"][i]), int(data["par_num"][i]), int(data["line_num"][i]))
        word = Word(
            text=text,
            conf=max(0.0, min(1.0, conf / 100.0)),
            box=(x / w, y / h, (x + bw) / w, (y + bh) / h),
            block=key[0],
            par=key[1],
            line=key[2],
            index=len(page.words),
        )
        page.words.append(word)
        if key not in line_of:
            line_of[key] = len(page.lines)
            page.lines.append(Line(words=[], text="", block=key[0], box=word.box))
            if key[0] not in block_of:
                block_of[key[0]] = len(page.blocks)
                page.blocks.append([])
            page.blocks[block_of[key[0]]].append(line_of[key])
        line = page.lines[line_of[key]]
        line.words.append(word.index)
        lb = line.box
        line.box = (
            min(lb[0], word.box[0]),
            min(lb[1], word.box[1]),
            max(lb[2], word.box[2]),
            max(lb[3], word.box[3]),
        )
    for line in page.lines:
        line.text = " ".join(page.words[i].text for i in line.words)
    if order:
        from edge.read.order import reading_order  # order.py builds on this module's types

        page = reading_order(page)
    return page


_ROTATE_RE = re.compile(r"Rotate:\s*(\d+)")
_CONF_RE = re.compile(r"Orientation confidence:\s*([\d.]+)")


_SCRIPT_RE = re.compile(r"Script:\s*(\w+)")


def detect_orientation(
    binary: np.ndarray, timeout: float, min_conf: float = 1.5, engine: OcrEngine = "libtesseract"
) -> tuple[int, float, str | None]:
    """(clockwise rotation 0/90/180/270 that makes the page upright, confidence, script name).

    Tesseract's orientation and script detection, by the reader's engine. Pages with too little
    text return (0, 0.0, None): nothing to turn. A timeout raises ``OcrError``.
    """
    h, w = binary.shape[:2]
    f = min(1.0, 2400.0 / max(h, w))
    small = (
        cv2.resize(binary, (max(1, int(w * f)), max(1, int(h * f))), interpolation=cv2.INTER_AREA)
        if f < 1
        else binary
    )
    from edge.read import tessapi

    try:
        if engine == "command":
            text = str(
                _call(
                    pytesseract.image_to_osd,
                    small,
                    config="--psm 0 -c min_characters_to_try=20",
                    timeout=timeout,
                )
            )
        else:
            text = _helper_text(small, "osd", tessapi.OSD_PSM, timeout)
    except OcrError as exc:
        if "timed out" in str(exc):
            raise
        return 0, 0.0, None  # "Too few characters": blank or picture page
    m, c, s = _ROTATE_RE.search(text), _CONF_RE.search(text), _SCRIPT_RE.search(text)
    script = s.group(1) if s else None
    if not m:
        return 0, 0.0, script
    rot, conf = int(m.group(1)) % 360, float(c.group(1)) if c else 0.0
    if conf < min_conf:
        return 0, conf, script
    return rot, conf, script


def looks_upside_down(page: OcrPage) -> bool:
    """Cheap check after OCR: a page read upside down gives few confident dictionary-like words."""
    if len(page.words) < 8:
        return False
    good = sum(1 for w in page.words if w.conf > 0.8 and re.fullmatch(r"[A-Za-zÀ-ÿ]{3,}[.,:;]?", w.text))
    return good / len(page.words) < 0.15


def page_from_text(text: str, conf: float = 1.0) -> OcrPage:
    """An ``OcrPage`` built from plain text (lines split on newlines, blocks on blank lines).

    Used to run the field extractors on text that did not come from Tesseract this time (cached
    OCR output, a PDF's text layer, tests); boxes are left empty (zero-size) and every word gets
    ``conf``.
    """
    page = OcrPage()
    block_no = 0
    new_block = True
    for raw in text.splitlines():
        tokens = raw.split()
        if not tokens:
            new_block = True
            continue
        if new_block:
            block_no += 1
            page.blocks.append([])
            new_block = False
        line = Line(words=[], text=" ".join(tokens), block=block_no, box=(0.0, 0.0, 0.0, 0.0))
        for tok in tokens:
            w = Word(
                text=tok,
                conf=conf,
                box=(0.0, 0.0, 0.0, 0.0),
                block=block_no,
                par=1,
                line=len(page.lines),
                index=len(page.words),
            )
            page.words.append(w)
            line.words.append(w.index)
        page.blocks[-1].append(len(page.lines))
        page.lines.append(line)
    return page


def drop_words(page: OcrPage, drop: Any) -> OcrPage:
    """A copy of ``page`` without the words for which ``drop(word)`` is true (indices renumbered)."""
    out = OcrPage(size=page.size)
    remap: dict[int, int] = {}
    for w in page.words:
        if not drop(w):
            remap[w.index] = len(out.words)
            out.words.append(replace(w, index=len(out.words)))
    for block in page.blocks:
        new_block = []
        for li in block:
            ln = page.lines[li]
            kept = [remap[i] for i in ln.words if i in remap]
            if not kept:
                continue
            box = union_box([out.words[i].box for i in kept])
            new_block.append(len(out.lines))
            out.lines.append(
                Line(words=kept, text=" ".join(out.words[i].text for i in kept), block=ln.block, box=box)
            )
        if new_block:
            out.blocks.append(new_block)
    return out
