"""``PageReader``: one page in, a ``Reading`` out (text, words, fields, document type, timings).

The reader never raises on a bad page: unreadable input, blank pages, pictures, text in a script
the configured languages cannot read, Tesseract timeouts and a missing classifier each give a
``Reading`` whose ``errors`` say what happened and whose document type asks for review.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np

from edge.config import ReaderConfig
from edge.contract import Box, Code, DocType, Fields, ModelRef
from edge.read import fields as fields_mod
from edge.read.classify import ClassifierUnavailable, DocClassifier
from edge.read.codes import decode_codes
from edge.read.hand import HandwritingModel, HandwritingUnavailable
from edge.read.ocr import (
    OcrError,
    OcrPage,
    Word,
    detect_orientation,
    drop_words,
    read_words,
    tesseract_version,
    warm_up,
)
from edge.read.preprocess import (
    InputError,
    Prepared,
    ink_fraction,
    input_box_to_page,
    is_speckled,
    prepare,
    to_gray,
)

log = logging.getLogger(__name__)

BLANK_INK = 0.0015  # share of dark pixels under which a page holds no text
KEEP_UNDER_SIGNATURE = 0.9  # words under a signature box are kept only at this OCR confidence
PRINT_MIN_CONF = 0.6  # ... if they read as print (see _reads_as_print)
STROKE_REACH = 0.5  # ... or when no painted pen stroke lies within this many word heights of them
# Scans: a word Tesseract is less sure of than this is left out of the page's text when most
# words are surer. On a clean page such words are mostly not print: handwriting filled into
# forms, stamps, scribbles (val split, 60 scan pages: 53% of the words on handwriting and stamps
# are under 0.6, 7% of printed words; leaving those under 0.4 out took order-free CER from 11.8%
# to 10.3%). They stay in ``words``, with their confidence, and the fields still read them.
# Webcam frames keep every word: the same rule made them slightly worse (30.3% -> 30.6%).
TEXT_MIN_CONF = 0.4
TEXT_FILTER_SHARE = 0.6  # share of words at TEXT_MIN_CONF or above for the filter to apply
HAND_MAX_SHARE = 0.5  # a page with more of its words handwritten than this keeps them in its text
# Tesseract's orientation confidence under which the script it names is not believed: on a
# blurred or small camera page of Latin print it named Arabic, Cyrillic, Fraktur or Japanese
# (confidence 0.3-2.7 on 9 validation stills), where clear Greek or Cyrillic print gives 10-12.
SCRIPT_SURE_CONF = 5.0
# A page's readings, its first and any second ones (and the orientation check), take at most
# this many times ``ocr_timeout_s`` together: the reading pool gives a job
# ``pipeline.stage_timeout_s`` (60 s by default, three times the default ``ocr_timeout_s``)
# before it restarts it, and a page lost there loses its first reading too.
PAGE_READS_BUDGET = 2.0
MIN_SECOND_READ_S = 1.0  # a second reading is not started with less than this left
SUSPICIOUS_QUALITY = 0.4  # under this share of confident words a page gets the orientation/script check
# A speckled scan read with at least this share of confident words is not cleaned and read a
# second way (see ``despeckle``): the plain median left its print legible.
FINE_DESPECKLE_QUALITY = 0.7
# Body text (10 pt, x-height ~1.9 mm) is ~0.64% of an A4 page's length; Tesseract wants an
# x-height of at least ~6 px. A webcam page shorter than this in the frame cannot be read.
XHEIGHT_PER_PAGE = 0.0064
LEGIBLE_PAGE_PX = 950
# A webcam page flattened from its outline with fewer confident words than this is read again
# as the whole frame (the outline may be the wrong sheet); a page of text has hundreds.
OUTLINE_MIN_WORDS = 25
# Under this many, the other page outlines found are read too (see _other_outlines). On the 80
# validation stills, the outlines that the second or third reading fixed had given 0-51
# confident words; a page taken whole gives 60 and more unless its text is tiny.
OUTLINE_SURE_WORDS = 60
_GOOD_WORD = re.compile(r"[A-Za-zÀ-ÿ]{3,}[.,:;)]?|\d[\d.,/:-]*")


@dataclass
class Reading:
    """What the reader made of one page (boxes normalised to the corrected page).

    ``text`` and ``lines`` are the page's confident words (see ``text_words``); ``words`` holds
    every word Tesseract returned, with its confidence, and is what field word indices refer to;
    ``ocr_text`` is all of them in reading order, what the classifier reads.
    """

    text: str
    fields: Fields
    doc_type: DocType
    ocr: ModelRef
    classifier: ModelRef
    timings_ms: dict[str, float]
    errors: list[str] = field(default_factory=list)
    words: list[dict[str, Any]] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    ocr_text: str = ""
    rotation: int = 0
    skew: float = 0.0
    handwriting: ModelRef | None = None  # the handwriting model, where it looked at the page


def _quality(page: OcrPage) -> float:
    """Share of confident, word-shaped tokens: high for upright Latin text, low otherwise."""
    if not page.words:
        return 0.0
    return _good_words(page) / len(page.words)


def _good_words(page: OcrPage) -> int:
    """How many confident, word-shaped tokens a reading has (see ``_quality``)."""
    return sum(1 for w in page.words if w.conf >= 0.75 and _GOOD_WORD.fullmatch(w.text))


def _clearly_better(page: OcrPage, than: OcrPage) -> bool:
    """Whether another reading of a frame gives clearly more confident words than one already
    had (a fifth more and three besides), so noise in a poor reading does not decide."""
    return _good_words(page) > 1.2 * _good_words(than) + 3


def _inside(box: tuple[float, float, float, float], regions: list[tuple[float, ...]]) -> bool:
    """Whether the centre of a word box falls in one of the regions (all normalised)."""
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    return any(r[0] <= cx <= r[2] and r[1] <= cy <= r[3] for r in regions)


def _near_strokes(box: tuple[float, float, float, float], painted: np.ndarray | None) -> bool:
    """Whether pen strokes were painted out within STROKE_REACH of the word's height around its
    box (``painted``: 0 where they were, see ``Prepared.painted``; None: nothing known, so yes).
    A line of print that a signature's box only grazes, away from its strokes, is not scribble."""
    if painted is None:
        return True
    h, w = painted.shape[:2]
    pad = (box[3] - box[1]) * h * STROKE_REACH
    x1, y1 = max(0, int(box[0] * w - pad)), max(0, int(box[1] * h - pad))
    x2, y2 = min(w, int(np.ceil(box[2] * w + pad))), min(h, int(np.ceil(box[3] * h + pad)))
    return x2 > x1 and y2 > y1 and bool((painted[y1:y2, x1:x2] < 128).any())


def _reads_as_print(word: Word) -> bool:
    """A word that could be print rather than a piece of scribble: a few characters, read with
    some confidence."""
    return word.conf >= PRINT_MIN_CONF and len(word.text) >= 3


# A word that is only vertical bars is a table or form rule read as a glyph: rules across the
# page are painted out before OCR, but upright ones stay to keep columns apart (remove_rules).
_BAR_WORD = re.compile(r"[|¦]+")


def handwritten(page: OcrPage, threshold: float) -> int:
    """How many of the page's words the handwriting model called handwritten (``hand`` at or
    above ``threshold``), where they are a minority; 0 on a page written mostly by hand, whose
    text is then what Tesseract made of the handwriting (HAND_MAX_SHARE)."""
    n = sum(1 for w in page.words if w.hand >= threshold)
    return n if n <= HAND_MAX_SHARE * len(page.words) else 0


def text_words(page: OcrPage, profile: str, hand_threshold: float | None = None) -> OcrPage:
    """The words that make the page's text: never a lone bar (see _BAR_WORD); with
    ``hand_threshold``, not the words written by hand (see ``handwritten``); on a scan whose
    words are mostly confident, those Tesseract is at least TEXT_MIN_CONF sure of; otherwise all
    of them (a page read poorly throughout keeps its text rather than losing most of it)."""
    if any(_BAR_WORD.fullmatch(w.text) for w in page.words):
        page = drop_words(page, lambda w: _BAR_WORD.fullmatch(w.text) is not None)
    if hand_threshold is not None and handwritten(page, hand_threshold):
        page = drop_words(page, lambda w: w.hand >= hand_threshold)
    if profile != "scan" or not page.words:
        return page
    sure = sum(1 for w in page.words if w.conf >= TEXT_MIN_CONF)
    if sure < TEXT_FILTER_SHARE * len(page.words):
        return page
    return drop_words(page, lambda w: w.conf < TEXT_MIN_CONF)


def _timed(fn: Callable[..., list[Code]], *args: Any) -> tuple[list[Code], float]:
    """``fn(*args)`` and the milliseconds it took."""
    t0 = time.perf_counter()
    out = fn(*args)
    return out, round((time.perf_counter() - t0) * 1000.0, 1)


def page_codes(image: np.ndarray, prep: Prepared) -> list[Code]:
    """The codes on the page, boxes on the prepared page. A webcam page flattened from its
    outline is looked at as prepared. Any other page's QR codes are looked for once, on the
    input as it came, and placed on the page: levelling and despeckling a fax resample its 2-3 px
    modules (on the scans of the first 300 test specs, 12 of 14 QR codes were read on the
    prepared page and all 14 on the input). Its barcodes are looked for on the prepared page,
    levelled, where a barcode's bars stand upright."""
    if prep.page_found:
        return decode_codes(prep.gray)
    h, w = image.shape[:2]
    codes: list[Code] = []
    for code in decode_codes(to_gray(image), barcodes=False):
        box = None
        if code.box is not None:
            b = code.box
            on_page = input_box_to_page(prep, image.shape, (b.x1 * w, b.y1 * h, b.x2 * w, b.y2 * h))
            x1, y1, x2, y2 = (min(1.0, max(0.0, v)) for v in on_page)
            if x2 > x1 and y2 > y1:
                box = Box(x1=x1, y1=y1, x2=x2, y2=y2)
        codes.append(code.model_copy(update={"box": box}))
    seen = {c.payload for c in codes}
    codes.extend(c for c in decode_codes(prep.gray, qr=False) if c.payload not in seen)
    return codes


def review_doc_type(scores: dict[str, float] | None = None) -> DocType:
    """The document type given when the page could not be classified: ``other``, for review."""
    return DocType(label="other", confidence=0.0, needs_review=True, scores=scores or {})


def _ref(label: str | None, name: str, version: str) -> ModelRef:
    """The name and version results give a model: ``label`` ("name:version", the registry's,
    set by a rollout) where there is one, else those written inside its ONNX file."""
    if label:
        name, version = label.split(":", 1)
    return ModelRef(name=name, version=version)


class PageReader:
    """Reads pages with the settings in ``cfg``. Build one per worker process (it is not shared)."""

    def __init__(self, cfg: ReaderConfig) -> None:
        self.cfg = cfg
        # Tesseract's OpenMP threads would fight the other worker for the same cores; one thread
        # per Tesseract process and one process per worker uses the cores without contention.
        os.environ.setdefault("OMP_THREAD_LIMIT", "1")
        self.ocr_ref = ModelRef(name="tesseract", version=f"{tesseract_version()}:{'+'.join(cfg.languages)}")
        self.classifier: DocClassifier | None = None
        self.classifier_error: str | None = None
        try:
            self.classifier = DocClassifier(cfg.classifier)
            self.classifier_ref = _ref(
                cfg.classifier_label, self.classifier.info.name, self.classifier.info.version
            )
        except ClassifierUnavailable as exc:
            log.error("%s", exc)
            self.classifier_error = str(exc)
            self.classifier_ref = ModelRef(name="doc-classifier", version="unavailable")
        self.hand: HandwritingModel | None = None
        self.hand_ref: ModelRef | None = None
        if cfg.handwriting is not None:
            try:
                self.hand = HandwritingModel(cfg.handwriting)
                self.hand_ref = _ref(cfg.handwriting_label, self.hand.info.name, self.hand.info.version)
            except HandwritingUnavailable as exc:  # the page is still read, its text with handwriting
                log.error("%s; handwritten words stay in the text", exc)
        self._side = ThreadPoolExecutor(max_workers=1, thread_name_prefix="read-codes")
        self._deadline = 0.0  # when the page being read must have finished its readings

    def warm_up(self) -> None:
        """Load Tesseract's engines now, not on the first pages (``ocr.warm_up``). A worker calls
        it once it is built; a failure is logged here and reported again by each page read."""
        try:
            warm_up(self.cfg.languages, self.cfg.ocr_engine)
        except OcrError as exc:
            log.error("%s", exc)

    def _empty(self, errors: list[str], timings: dict[str, float], prep: Prepared | None = None) -> Reading:
        return Reading(
            text="",
            fields=Fields(),
            doc_type=review_doc_type(),
            ocr=self.ocr_ref,
            classifier=self.classifier_ref,
            timings_ms=timings,
            errors=errors,
            rotation=prep.rotation if prep else 0,
            skew=prep.skew if prep else 0.0,
        )

    def _ocr(self, prep: Prepared, timeout: float | None = None) -> OcrPage:
        return read_words(
            prep.ocr_image,
            self.cfg.languages,
            self.cfg.ocr_timeout_s if timeout is None else timeout,
            engine=self.cfg.ocr_engine,
            recover_missed=self.cfg.recover_missed,
            sharp=prep.profile == "scan",
        )

    def _time_left(self) -> float:
        """Seconds a second reading of the page being read may still take (PAGE_READS_BUDGET)."""
        return min(self.cfg.ocr_timeout_s, self._deadline - time.monotonic())

    def _second_read(self, prep: Prepared) -> OcrPage | None:
        """Another reading of a page that was read once already (another outline, the whole
        frame, a finer cleaning, a turn): None where it fails, runs out of time or the page's
        time is spent, so that the first reading stands rather than the page being lost.
        Logged, not reported: the page's result is whole."""
        left = self._time_left()
        if left < MIN_SECOND_READ_S:
            log.warning("no time left for a second reading of the page; the first reading is kept")
            return None
        try:
            return self._ocr(prep, left)
        except OcrError as exc:
            log.warning("a second reading of the page failed (%s); the first reading is kept", exc)
            return None

    def _other_outlines(
        self, image: np.ndarray, prep: Prepared, page: OcrPage, sig_boxes: list[tuple[float, ...]]
    ) -> tuple[Prepared, OcrPage]:
        """A webcam page that gave few confident words, read through the other outlines found.

        The best-scored outline can be two overlapping sheets taken as one, or a neighbour's
        edge for one side; the page is then cut or stretched and reads poorly. Each other
        outline is flattened and read, and a reading is kept when it is ``_clearly_better``."""
        best, best_page = prep, page
        for quad in prep.other_outlines:
            alt = prepare(image, "webcam", sig_boxes, quad=quad)  # type: ignore[arg-type]
            alt_page = self._second_read(alt)
            if alt_page is not None and _clearly_better(alt_page, best_page):
                best, best_page = alt, alt_page
        return best, best_page

    def _read_frame_again(
        self, image: np.ndarray, prep: Prepared, page: OcrPage, sig_boxes: list[tuple[float, ...]]
    ) -> tuple[Prepared, OcrPage]:
        """A webcam frame that gave few confident words, read again as the whole frame.

        The outline found may be the wrong sheet (a blank one under a receipt) or a
        quadrilateral spanning several; the flattened page then holds little text, or turned
        text. The frame is read as it is (with the wide skew search), first with its light
        flattened, then as plain grey: where no page is cut out, flattening turns a striped or
        grained desk into bands that Tesseract takes for one picture and reads nothing in. A
        reading is kept when it gives clearly more confident words."""
        best, best_page = prep, page
        if prep.page_found:
            frame = prepare(image, "webcam", sig_boxes, outline=False)  # type: ignore[arg-type]
            tries = [frame, replace(frame, flat=None)]
        else:  # already read as the whole frame, flattened
            tries = [replace(prep, flat=None)] if prep.flat is not None else []
        for alt in tries:
            alt_page = self._second_read(alt)
            if alt_page is not None and _clearly_better(alt_page, best_page):
                best, best_page = alt, alt_page
            if _good_words(best_page) >= OUTLINE_MIN_WORDS:
                break
        return best, best_page

    def read(self, image: np.ndarray, signatures: list[Any], profile: Literal["scan", "webcam"]) -> Reading:
        """Read one page. ``signatures`` are detector ``Detection``s (boxes normalised to ``image``)."""
        t_start = time.perf_counter()
        self._deadline = time.monotonic() + PAGE_READS_BUDGET * self.cfg.ocr_timeout_s
        timings: dict[str, float] = {}
        errors: list[str] = []

        def lap(name: str, t0: float) -> float:
            now = time.perf_counter()
            timings[name] = round((now - t0) * 1000.0, 1)
            return now

        sig_boxes = [tuple(float(v) for v in d.box) for d in signatures] if self.cfg.mask_signatures else []
        # Signatures are painted out before OCR. Webcam frames lose the whole box (mapped
        # through the page's warp where one is found): a warped frame's words cannot be matched
        # to a box afterwards. On scans only the pen strokes go, so the typed name or date a
        # signature crosses is still read; words left under a box after OCR are dropped unless
        # Tesseract is sure of them: the rest of a signature reads as low-confidence scribble,
        # while printed text under a false detection stays.
        t = time.perf_counter()
        try:
            prep = prepare(image, profile, sig_boxes)  # type: ignore[arg-type]
        except InputError as exc:
            lap("preprocess", t)
            return self._empty([f"unreadable image: {exc}"], timings)
        except (MemoryError, ValueError) as exc:  # cv2 on absurd shapes
            lap("preprocess", t)
            return self._empty([f"unreadable image: {exc}"], timings)
        t = lap("preprocess", t)
        errors.extend(prep.notes)

        if ink_fraction(prep.binary) < BLANK_INK:
            timings["total"] = round((time.perf_counter() - t_start) * 1000.0, 1)
            return self._empty([*errors, "blank page: no text to read"], timings, prep)

        # QR codes and barcodes are decoded while Tesseract reads the text in its own process: on
        # a device with a core to spare their time (up to ~0.2 s on a page with a code) is hidden.
        read_prep = prep
        codes_job = self._side.submit(_timed, page_codes, image, prep)

        try:
            page = self._ocr(prep)
            quality = _quality(page)
            t = lap("ocr", t)
            if profile == "webcam":
                # A page that gave few confident words may have been cut out along the wrong
                # outline: the other outlines found and, where it gave almost nothing, the whole
                # frame are read too. Both stand against the first reading with a margin, and
                # against each other without one: another outline can give a few dozen words
                # from a cut page where the whole frame gives the page.
                first_prep, first_page = prep, page
                first_words = _good_words(page)
                if prep.other_outlines and first_words < OUTLINE_SURE_WORDS:
                    prep, page = self._other_outlines(image, prep, page, sig_boxes)
                    t = lap("other_outlines", t)
                if first_words < OUTLINE_MIN_WORDS:
                    frame_prep, frame_page = self._read_frame_again(image, first_prep, first_page, sig_boxes)
                    if frame_prep is not first_prep and _good_words(frame_page) > _good_words(page):
                        prep, page = frame_prep, frame_page
                    t = lap("frame_check", t)
                if prep is not first_prep:
                    quality = _quality(page)
                    read_prep = prep
                    codes_job = self._side.submit(_timed, page_codes, image, prep)
            elif prep.despeckled and quality < FINE_DESPECKLE_QUALITY:
                # A speckled scan read poorly is cleaned a second way, which keeps thin print
                # that the plain median erodes; the reading with clearly more confident words is
                # kept.
                fine = prepare(image, profile, sig_boxes, fine_despeckle=True)  # type: ignore[arg-type]
                # Too big to clean finely, or as speckled after its passes: the grain left would
                # take Tesseract tens of seconds and read worse (a dithered grey page: 55,000
                # specks, 42 s, against 0.7 s for the plain cleaning's reading).
                fine_page = (
                    self._second_read(fine) if fine.fine_despeckle and not is_speckled(fine.gray) else None
                )
                if fine_page is not None and _clearly_better(fine_page, page):
                    errors = [e for e in errors if e not in prep.notes] + fine.notes
                    prep, page, quality = fine, fine_page, _quality(fine_page)
                    read_prep = prep
                    codes_job = self._side.submit(_timed, page_codes, image, prep)
                t = lap("despeckle_check", t)
            too_small = profile == "webcam" and prep.source_px < LEGIBLE_PAGE_PX
            script, script_sure = None, False
            if quality < SUSPICIOUS_QUALITY and len(page.words) >= 5 and not too_small:
                # Few confident words: maybe turned or upside down, or another script. Ask
                # Tesseract's orientation and script detection, try the turn it suggests (or 180°
                # when it has no opinion) and keep the better reading.
                try:
                    if self._time_left() < MIN_SECOND_READ_S:
                        raise OcrError("no time left for it")
                    rot, osd_conf, script = detect_orientation(
                        prep.ocr_image, self._time_left(), engine=self.cfg.ocr_engine
                    )
                    poor = quality < 0.25 and script in (None, "Latin")
                    candidates = [rot] if rot else ([180] if poor else [])
                    script_sure = osd_conf >= SCRIPT_SURE_CONF
                except OcrError as exc:  # the page as read stands
                    log.warning("orientation detection failed (%s); the page is kept as read", exc)
                    candidates = []
                for r in candidates:
                    alt = prepare(
                        image,
                        profile,
                        sig_boxes,  # type: ignore[arg-type]
                        rotation=r,
                        fine_despeckle=prep.fine_despeckle,
                    )
                    alt_page = self._second_read(alt)
                    if alt_page is not None and _quality(alt_page) > quality + 0.1:
                        prep, page, quality = alt, alt_page, _quality(alt_page)
                t = lap("orientation", t)
        except OcrError as exc:
            lap("ocr", t)
            timings["total"] = round((time.perf_counter() - t_start) * 1000.0, 1)
            return self._empty([*errors, f"ocr failed: {exc}"], timings, prep)

        if sig_boxes and profile != "webcam":
            page = drop_words(
                page,
                lambda w: (
                    w.conf < KEEP_UNDER_SIGNATURE
                    and _inside(w.box, sig_boxes)
                    and (_near_strokes(w.box, prep.painted) or not _reads_as_print(w))
                ),
            )
        hand_threshold = None
        if self.hand is not None and profile == "scan" and page.words:
            # Scans only: the model was trained on scans' words, not on flattened camera pages.
            t = time.perf_counter()
            try:
                p = self.hand.probabilities(prep.ocr_image, [w.box for w in page.words])
            except Exception:  # a runtime error in ONNX Runtime must not lose the page
                log.exception("handwriting model failed; the page's text keeps its handwriting")
            else:
                page.words = [replace(w, hand=float(v)) for w, v in zip(page.words, p, strict=True)]
                hand_threshold = self.hand.info.threshold
                # Not an error (that would make the page's result partial): the words say it.
                if log.isEnabledFor(logging.DEBUG):  # counted again by text_words otherwise
                    log.debug("%d handwritten words left out of the text", handwritten(page, hand_threshold))
            lap("handwriting", t)
        text_page = text_words(page, profile, hand_threshold)
        text = text_page.text
        if too_small and quality < SUSPICIOUS_QUALITY:
            # Body text of a page this small in the frame is a few pixels high: no OCR reads it,
            # and what it returns is noise (often taken for another script). Say what helps.
            errors.append(
                f"the page is only {prep.source_px} px long in the camera frame: its text is about "
                f"{prep.source_px * XHEIGHT_PER_PAGE:.0f} px high, too small to read; hold the document "
                "closer or capture a higher-resolution still"
            )
            quality = min(quality, 0.19)  # not trusted: the page goes to review
        elif not page.words:
            errors.append("no text found (picture or empty page)")
        elif script not in (None, "Latin") and quality < SUSPICIOUS_QUALITY:
            if script_sure:
                errors.append(
                    f"text looks like {script} script, which languages {'+'.join(self.cfg.languages)} "
                    f"cannot read (only {quality:.0%} confident words)"
                )
            else:  # OSD named another script without seeing clear glyphs: do not send the user there
                errors.append(
                    f"text barely readable with languages {'+'.join(self.cfg.languages)} "
                    f"(only {quality:.0%} confident words): blurred, too small or another script"
                )
            quality = min(quality, 0.19)  # not trusted: the page goes to review
        elif quality < 0.2:
            errors.append(
                f"text barely readable with languages {'+'.join(self.cfg.languages)} "
                f"(only {quality:.0%} confident words): other script, picture or very poor image"
            )

        codes, timings["codes"] = codes_job.result()
        if prep is not read_prep:  # the page was turned to be read: place its codes on the turned page
            codes, timings["codes"] = _timed(page_codes, image, prep)
        t = time.perf_counter()

        if self.classifier is not None and page.words:
            try:
                # The classifier reads every word, as it was trained to (Tesseract's whole output,
                # noise included): fed the confident words only, 3 of the 11 real documents moved
                # from receipt to invoice. A retrain on ``text_words`` can change this.
                doc_type = self.classifier.predict(page.text, self.cfg.review_threshold, profile)
            except Exception as exc:  # a runtime error in ONNX Runtime must not lose the page
                log.exception("classifier failed")
                errors.append(f"classifier failed: {exc}")
                doc_type = review_doc_type()
        else:
            if self.classifier_error:
                errors.append(self.classifier_error)
            doc_type = review_doc_type()
        if quality < 0.2 and not doc_type.needs_review:
            doc_type = doc_type.model_copy(update={"needs_review": True})
        t = lap("classify", t)

        fields = fields_mod.extract(page, doc_type.label, signatures_found=len(signatures), codes=codes)
        if not doc_type.needs_review and fields_mod.asks_review(fields, doc_type.label):
            doc_type = doc_type.model_copy(update={"needs_review": True})
        lap("fields", t)
        timings["total"] = round((time.perf_counter() - t_start) * 1000.0, 1)
        return Reading(
            text=text,
            fields=fields,
            doc_type=doc_type,
            ocr=self.ocr_ref,
            classifier=self.classifier_ref,
            timings_ms=timings,
            errors=errors,
            words=[w.as_dict() for w in page.words],
            lines=[ln.text for ln in text_page.lines],
            ocr_text=page.text,
            rotation=prep.rotation,
            skew=prep.skew,
            handwriting=self.hand_ref if hand_threshold is not None else None,
        )
