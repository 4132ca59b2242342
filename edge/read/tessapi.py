"""Tesseract in the worker process, through libtesseract's C API (ctypes).

pytesseract runs the ``tesseract`` command for every page: it writes the page to a PNG file,
starts a process that loads the language models (about 0.2 s for eng+fra on a 2-core machine)
and parses a TSV file back. A reader that keeps one initialised engine per process skips all of
that and gets the same TSV from the same library: the words, boxes and confidences are those
the command gives for the same pixels (tests/edge/read/test_tessapi.py compares both).

Recognition runs under Tesseract's own deadline (its progress monitor), so a page that takes too
long is cancelled and reported as a timeout. Layout analysis, which comes before recognition, is
not covered by that deadline, so readers do not call this module directly: the engine runs in
a helper process (``edge.read.tessd``) that is killed when a page outlasts its deadline.

One engine per (languages, page segmentation mode), made on first use, reading one page at a
time.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import logging
import os
import time
from functools import lru_cache
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

OEM_LSTM_ONLY = 1  # what ``--oem 1`` asks of the command
OEM_DEFAULT = 3  # whatever the traineddata holds: osd.traineddata is a legacy model
OSD_PSM = 0  # page segmentation mode 0: orientation and script detection only
# What edge.read.ocr.detect_orientation asks of the command ("--psm 0 -c min_characters_to_try=20")
OSD_VARIABLES = {"min_characters_to_try": "20"}
# Clockwise turn that makes the page upright, from the orientation Tesseract detects (as the
# command's OSD text prints "Rotate:")
_ROTATE_FOR = {0: 0, 90: 270, 180: 180, 270: 90}
# What edge.read.ocr.BASE_CONFIG's "-c" settings ask of the command: documents are dark on light,
# so Tesseract's second pass over low-confidence words as white-on-black text only costs time.
BASE_VARIABLES = {"tessedit_do_invert": "0"}
_LIB_NAMES = ("libtesseract.so.5", "libtesseract.so", "libtesseract.5.dylib", "libtesseract.dylib")
TSV_KEYS = (
    "level",
    "page_num",
    "block_num",
    "par_num",
    "line_num",
    "word_num",
    "left",
    "top",
    "width",
    "height",
    "conf",
    "text",
)


class TessApiUnavailable(RuntimeError):
    """libtesseract could not be loaded or initialised (the message says why)."""


class TessApiTimeout(RuntimeError):
    """Recognition ran past its deadline and was cancelled."""


@lru_cache(maxsize=1)
def _lib() -> ctypes.CDLL:
    errors = []
    found = ctypes.util.find_library("tesseract")
    for name in ((found,) if found else ()) + _LIB_NAMES:
        try:
            lib = ctypes.CDLL(name)
            break
        except OSError as exc:
            errors.append(f"{name}: {exc}")
    else:
        raise TessApiUnavailable(
            "libtesseract not found (" + "; ".join(errors) + "); install tesseract-ocr (scripts/setup)"
        )
    _quiet_leptonica()
    vp, cp, i = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int
    for fn, res, args in (
        ("TessVersion", cp, []),
        ("TessBaseAPICreate", vp, []),
        ("TessBaseAPIDelete", None, [vp]),
        ("TessBaseAPIInit2", i, [vp, cp, cp, i]),
        ("TessBaseAPISetVariable", i, [vp, cp, cp]),
        ("TessBaseAPISetPageSegMode", None, [vp, i]),
        ("TessBaseAPISetImage", None, [vp, vp, i, i, i, i]),
        ("TessBaseAPIRecognize", i, [vp, vp]),
        ("TessBaseAPIGetTsvText", vp, [vp, i]),
        (
            "TessBaseAPIDetectOrientationScript",
            i,
            [
                vp,
                ctypes.POINTER(ctypes.c_int),
                ctypes.POINTER(ctypes.c_float),
                ctypes.POINTER(ctypes.c_char_p),
                ctypes.POINTER(ctypes.c_float),
            ],
        ),
        ("TessBaseAPIClear", None, [vp]),
        ("TessBaseAPIEnd", None, [vp]),
        ("TessDeleteText", None, [vp]),
        ("TessMonitorCreate", vp, []),
        ("TessMonitorDelete", None, [vp]),
        ("TessMonitorSetDeadlineMSecs", None, [vp, i]),
    ):
        f = getattr(lib, fn)
        f.restype, f.argtypes = res, args
    return lib


# Leptonica, Tesseract's image library, prints its own complaints ("Error in
# boxClipToRectangle: box outside rectangle") on stderr; the command's stderr is swallowed by
# pytesseract. In-process they go to this module's debug log instead of the service's output.
_LEPT_HANDLER = ctypes.CFUNCTYPE(None, ctypes.c_char_p)(
    lambda msg: log.debug("leptonica: %s", (msg or b"").decode(errors="replace").rstrip())
)


def _quiet_leptonica() -> None:
    for name in (ctypes.util.find_library("lept"), "liblept.so.5", "libleptonica.so.6"):
        if not name:
            continue
        try:
            lept = ctypes.CDLL(name)
            lept.leptSetStderrHandler.argtypes = [ctypes.c_void_p]
            lept.leptSetStderrHandler(ctypes.cast(_LEPT_HANDLER, ctypes.c_void_p))
            return
        except (OSError, AttributeError):
            continue
    log.debug("leptonica's message handler not set: its messages go to stderr")


def library_version() -> str:
    """The loaded libtesseract's version (``5.3.0``); raises ``TessApiUnavailable``."""
    return str(_lib().TessVersion().decode())


class Engine:
    """One initialised Tesseract: languages and models loaded once, pages read one at a time."""

    def __init__(self, lang: str, psm: int, variables: dict[str, str]) -> None:
        lib = _lib()
        self._lib = lib
        self._api = lib.TessBaseAPICreate()
        if not self._api:
            raise TessApiUnavailable("TessBaseAPICreate returned nothing")
        # NULL datapath: the library's own tessdata folder (or TESSDATA_PREFIX), as the command.
        oem = OEM_DEFAULT if psm == OSD_PSM else OEM_LSTM_ONLY
        if lib.TessBaseAPIInit2(self._api, None, lang.encode(), oem) != 0:
            lib.TessBaseAPIDelete(self._api)
            self._api = None
            raise TessApiUnavailable(f"libtesseract could not load languages {lang!r} (traineddata missing?)")
        # Tesseract's diagnostics ("Estimating resolution as 281") go to stderr unless sent
        # elsewhere; the command's stderr is swallowed by pytesseract, so do the same here.
        for k, v in {"debug_file": os.devnull, **variables}.items():
            if not lib.TessBaseAPISetVariable(self._api, k.encode(), v.encode()):
                log.warning("libtesseract: unknown variable %s", k)
        lib.TessBaseAPISetPageSegMode(self._api, psm)

    def tsv_text(self, gray: np.ndarray, timeout: float) -> str:
        """Recognise a grey page; Tesseract's TSV text (no header line)."""
        img = np.ascontiguousarray(gray, dtype=np.uint8)
        if img.ndim != 2:
            raise ValueError(f"expected a grey image, got shape {img.shape}")
        h, w = img.shape
        lib, api = self._lib, self._api
        monitor = lib.TessMonitorCreate()
        try:
            lib.TessBaseAPISetImage(api, img.ctypes.data, w, h, 1, w)
            lib.TessMonitorSetDeadlineMSecs(monitor, max(1, int(timeout * 1000)))
            t0 = time.monotonic()
            rc = lib.TessBaseAPIRecognize(api, monitor)
            if rc != 0:
                if time.monotonic() - t0 >= timeout * 0.9:
                    raise TessApiTimeout(f"tesseract timed out after {timeout:.0f} s")
                raise RuntimeError(f"tesseract recognition failed (code {rc})")
            ptr = lib.TessBaseAPIGetTsvText(api, 0)
            try:
                raw = ctypes.string_at(ptr).decode("utf-8", errors="replace") if ptr else ""
            finally:
                if ptr:
                    lib.TessDeleteText(ptr)
        finally:
            lib.TessBaseAPIClear(api)
            lib.TessMonitorDelete(monitor)
        return raw

    def osd_text(self, gray: np.ndarray) -> str:
        """Orientation and script detection (an engine made with psm 0, language "osd"), in the
        text the command prints for ``--psm 0``; "" when the page has too few characters."""
        img = np.ascontiguousarray(gray, dtype=np.uint8)
        h, w = img.shape
        lib, api = self._lib, self._api
        deg, oconf, sconf, name = ctypes.c_int(), ctypes.c_float(), ctypes.c_float(), ctypes.c_char_p()
        try:
            lib.TessBaseAPISetImage(api, img.ctypes.data, w, h, 1, w)
            ok = lib.TessBaseAPIDetectOrientationScript(
                api, ctypes.byref(deg), ctypes.byref(oconf), ctypes.byref(name), ctypes.byref(sconf)
            )
        finally:
            lib.TessBaseAPIClear(api)
        if not ok:
            return ""
        script = (name.value or b"").decode(errors="replace")
        return (
            f"Orientation in degrees: {deg.value}\nRotate: {_ROTATE_FOR.get(deg.value % 360, 0)}\n"
            f"Orientation confidence: {oconf.value:.2f}\nScript: {script}\nScript confidence: {sconf.value:.2f}\n"
        )

    def close(self) -> None:
        if self._api:
            self._lib.TessBaseAPIEnd(self._api)
            self._lib.TessBaseAPIDelete(self._api)
            self._api = None

    def __del__(self) -> None:  # engines live as long as their process; be tidy when dropped
        # At interpreter shutdown the library may already be gone.
        with contextlib.suppress(Exception):
            self.close()


def parse_tsv(raw: str) -> dict[str, list[Any]]:
    """Tesseract's TSV (no header line) as columns; numbers as ints, conf as float."""
    out: dict[str, list[Any]] = {k: [] for k in TSV_KEYS}
    for line in raw.splitlines():
        parts = line.split("\t")
        if len(parts) < 11:
            continue
        if len(parts) == 11:
            parts.append("")
        try:
            nums = [int(p) for p in parts[:10]]
            conf = float(int(float(parts[10])))  # whole percent, as pytesseract's dict gives it
        except ValueError:
            continue  # a header line, where present
        for k, v in zip(TSV_KEYS[:10], nums, strict=True):
            out[k].append(v)
        out["conf"].append(conf)
        out["text"].append("\t".join(parts[11:]))
    return out


_ENGINES: dict[tuple[str, int, tuple[tuple[str, str], ...]], Engine] = {}


def engine(lang: str, psm: int, variables: dict[str, str]) -> Engine:
    """This process's engine for these settings (made on first use; the helper process in
    ``edge.read.tessd`` is its only user, one page at a time)."""
    key = (lang, psm, tuple(sorted(variables.items())))
    eng = _ENGINES.get(key)
    if eng is None:
        eng = _ENGINES[key] = Engine(lang, psm, variables)
    return eng
