"""A Tesseract engine kept loaded in a helper process, with a deadline that always holds.

libtesseract's own deadline covers recognition only: its layout analysis can run for minutes on
a pathological page (a tall page of noise took over 5 minutes where the deadline was 3 s), and a
thread stuck in C cannot be stopped. So the engine (``edge.read.tessapi``) lives in a small
helper process beside each reader, started once (``python -m edge.read.tessd``); a page goes to
it over a pipe, and one that is not read within the deadline gets the helper killed and an
``OcrError``; the next page starts a new helper. This keeps what the ``tesseract`` command gave
(a page can never hang a reader) without starting a process and loading the models per page.

Protocol, one page at a time: the reader writes ``"<w> <h> <psm> <timeout ms> <lang>\\n"`` and
``w*h`` bytes of grey pixels; the helper answers ``"OK <n>\\n"`` and ``n`` bytes of Tesseract's
TSV (psm 0: its orientation and script text, as the command prints it), or
``"ERR <kind> <message>\\n"`` (kind: timeout, unavailable, failed).
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import logging
import os
import select
import subprocess
import sys
import threading
import time
from typing import IO

import numpy as np

log = logging.getLogger(__name__)

STARTUP_S = 30.0  # starting the helper and loading a language set, once each
PIPE_BYTES = 1 << 20  # pipe buffer asked for (Linux's default cap, /proc/sys/fs/pipe-max-size)
GRACE_S = 1.0  # past the deadline, for the helper to answer a page its deadline cancelled


class TessdError(RuntimeError):
    """The helper could not read the page: ``kind`` is timeout, unavailable, died or failed."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def _read_line(fd: int, buf: bytearray, deadline: float) -> bytes:
    while b"\n" not in buf:
        _wait(fd, deadline)
        chunk = os.read(fd, 65536)
        if not chunk:
            raise TessdError("died", "the tesseract helper process exited")
        buf += chunk
    line, _, rest = bytes(buf).partition(b"\n")
    buf[:] = rest
    return line


def _read_exact(fd: int, buf: bytearray, n: int, deadline: float) -> bytes:
    while len(buf) < n:
        _wait(fd, deadline)
        chunk = os.read(fd, max(65536, n - len(buf)))
        if not chunk:
            raise TessdError("died", "the tesseract helper process exited")
        buf += chunk
    out = bytes(buf[:n])
    buf[:] = buf[n:]
    return out


def _wait(fd: int, deadline: float) -> None:
    left = deadline - time.monotonic()
    if left <= 0 or not select.select([fd], [], [], left)[0]:
        raise TessdError("timeout", "no answer before the deadline")


class Helper:
    """One helper process and the pipe to it (used by one thread at a time)."""

    def __init__(self) -> None:
        env = dict(os.environ)
        # Tesseract's OpenMP threads would fight the other reading worker for the same cores:
        # one thread, unless the operator said otherwise (OpenMP reads it when the library loads).
        env.setdefault("OMP_THREAD_LIMIT", "1")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "edge.read.tessd"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        # A page is megabytes; Linux pipes hold 64 KiB unless asked for more, and every 64 KiB
        # costs the two processes a switch. Best effort: the system's cap may refuse it.
        for f in (self.proc.stdin, self.proc.stdout):
            if f is not None:
                with contextlib.suppress(OSError, ValueError):
                    fcntl.fcntl(f.fileno(), getattr(fcntl, "F_SETPIPE_SZ", 1031), PIPE_BYTES)
        self._buf = bytearray()
        self._loaded: set[tuple[str, int]] = set()

    def _send(self, head: str, body: bytes | memoryview = b"") -> None:
        stdin: IO[bytes] = self.proc.stdin  # type: ignore[assignment]
        try:
            stdin.write(head.encode())
            stdin.write(body)
            stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            raise TessdError("died", f"the tesseract helper process is gone ({exc})") from exc

    def load(self, lang: str, psm: int) -> None:
        """Make the engine for ``lang`` and ``psm`` in the helper, unless it is made already.
        Starting Python and loading the models is not a page's time: a request with no pixels
        loads them, under its own, longer deadline."""
        if (lang, psm) not in self._loaded:
            self._send(f"0 0 {psm} 0 {lang}\n")
            self._answer(time.monotonic() + STARTUP_S)
            self._loaded.add((lang, psm))

    def read(self, gray: np.ndarray, lang: str, psm: int, timeout: float) -> str:
        img = np.ascontiguousarray(gray, dtype=np.uint8)
        h, w = img.shape
        self.load(lang, psm)
        self._send(f"{w} {h} {psm} {max(1, int(timeout * 1000))} {lang}\n", img.reshape(-1).data)
        return self._answer(time.monotonic() + timeout + GRACE_S)

    def _answer(self, deadline: float) -> str:
        stdout: IO[bytes] = self.proc.stdout  # type: ignore[assignment]
        head = _read_line(stdout.fileno(), self._buf, deadline).decode(errors="replace")
        kind, _, rest = head.partition(" ")
        if kind == "OK":
            n = int(rest)
            return _read_exact(stdout.fileno(), self._buf, n, deadline).decode("utf-8", errors="replace")
        err_kind, _, message = rest.partition(" ")
        raise TessdError(err_kind or "failed", message or head)

    def kill(self) -> None:
        with contextlib.suppress(Exception):
            self.proc.kill()
        with contextlib.suppress(Exception):
            self.proc.wait(5)

    def alive(self) -> bool:
        return self.proc.poll() is None


_HELPERS: dict[int, Helper] = {}
_LOCK = threading.Lock()


def _helper() -> Helper:
    """This process's helper, started if it has none or its helper is gone (hold ``_LOCK``)."""
    pid = os.getpid()
    helper = _HELPERS.get(pid)
    if helper is None or not helper.alive():
        # A helper inherited through fork is the parent's: leave it to the parent.
        for k in [k for k in _HELPERS if k != pid]:
            _HELPERS.pop(k)
        helper = _HELPERS[pid] = Helper()
    return helper


def _drop_if_broken(helper: Helper, exc: TessdError) -> None:
    if exc.kind in ("timeout", "died"):
        # Stuck or gone: whatever it was doing, the next page gets a fresh helper.
        helper.kill()
        _HELPERS.pop(os.getpid(), None)


def read_tsv(gray: np.ndarray, lang: str, psm: int, timeout: float) -> str:
    """Tesseract's TSV for a grey page, read by this process's helper within ``timeout``
    (psm 0 with lang "osd": the orientation and script text instead).

    Raises ``TessdError`` (kind ``timeout``: the helper was killed; ``unavailable``: libtesseract
    or a language is missing; ``died`` or ``failed``)."""
    if gray.ndim != 2 or gray.size == 0:
        raise ValueError(f"expected a grey image, got shape {gray.shape}")
    with _LOCK:
        helper = _helper()
        try:
            return helper.read(gray, lang, psm, timeout)
        except TessdError as exc:
            _drop_if_broken(helper, exc)
            raise


def preload(lang: str, psms: tuple[int, ...]) -> None:
    """Start this process's helper and make its engines for ``lang`` in each of ``psms`` now,
    so that the first pages read do not wait for them (about 0.2-0.3 s each on 2 cores).

    Raises ``TessdError`` as ``read_tsv`` does (``unavailable``: a language is missing)."""
    with _LOCK:
        helper = _helper()
        try:
            for psm in psms:
                helper.load(lang, psm)
        except TessdError as exc:
            _drop_if_broken(helper, exc)
            raise


@atexit.register
def _stop_helpers() -> None:
    helper = _HELPERS.pop(os.getpid(), None)
    if helper is not None:
        helper.kill()


def serve(stdin: IO[bytes], stdout: IO[bytes]) -> None:
    """The helper's loop: pages in, TSV out, until its reader closes the pipe."""
    from edge.read import tessapi

    while True:
        head = stdin.readline()
        if not head:
            return
        try:
            w_s, h_s, psm_s, ms_s, lang = head.decode().split(maxsplit=4)
            w, h, psm, ms = int(w_s), int(h_s), int(psm_s), int(ms_s)
        except ValueError:
            stdout.write(b"ERR failed malformed request\n")
            stdout.flush()
            return  # the stream is out of step: stop, the reader starts a new helper
        data = stdin.read(w * h)
        if len(data) < w * h:
            return
        try:
            osd = psm == tessapi.OSD_PSM
            eng = tessapi.engine(lang.strip(), psm, tessapi.OSD_VARIABLES if osd else tessapi.BASE_VARIABLES)
            if w * h == 0:  # a load request: the models for this page's settings, no pixels
                stdout.write(b"OK 0\n")
                stdout.flush()
                continue
            gray = np.frombuffer(data, dtype=np.uint8).reshape(h, w)
            text = eng.osd_text(gray) if osd else eng.tsv_text(gray, ms / 1000.0)
            body = text.encode("utf-8")
            stdout.write(f"OK {len(body)}\n".encode() + body)
        except tessapi.TessApiTimeout as exc:
            stdout.write(f"ERR timeout {exc}\n".encode())
        except tessapi.TessApiUnavailable as exc:
            stdout.write(f"ERR unavailable {' '.join(str(exc).split())}\n".encode())
        except Exception as exc:  # one page's failure must not end the helper
            stdout.write(f"ERR failed {' '.join(str(exc).split())}\n".encode())
        stdout.flush()


if __name__ == "__main__":
    serve(sys.stdin.buffer, sys.stdout.buffer)
