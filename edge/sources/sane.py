"""``sane://device``: a USB document scanner through SANE's ``scanimage --batch``.

Each batch empties the feeder into a spool folder; the spool is then a hot folder like any
other (:class:`FolderSource`), so pages get the same checks, done/failed moves and restart
safety. ``sane://`` with no device uses SANE's default device.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from edge.config import SourceConfig
from edge.sources import Doc, SourceError
from edge.sources.folder import FolderSource

log = logging.getLogger(__name__)


class SaneSource:
    """Scans batches with scanimage into ``<spool>/``; serves them as a folder source."""

    kind = "sane"
    live = False
    #: called while scanning or waiting, so the watchdog knows it is alive
    on_idle: Callable[[], None] | None = None

    def __init__(self, uri: str, cfg: SourceConfig, spool: Path | None = None) -> None:
        if not shutil.which("scanimage"):
            raise SourceError("scanimage not found: install sane-utils (apt-get install sane-utils)")
        self.uri = uri
        self.cfg = cfg
        self.device = uri[len("sane://") :] or None
        safe = (self.device or "default").replace("/", "_").replace(":", "_")
        self.spool = spool or Path("var/spool/sane") / safe
        self.incoming = self.spool / "incoming"
        self.incoming.mkdir(parents=True, exist_ok=True)
        folder_cfg = cfg.model_copy(
            update={"settle_s": 0.0, "done_dir": self.spool / "done", "failed_dir": self.spool / "failed"}
        )
        self.folder = FolderSource(f"folder://{self.incoming}", folder_cfg)
        self.batches = 0

    def scan_batch(self, timeout_s: float = 600.0) -> int:
        """Run one ``scanimage --batch``; returns how many pages it wrote."""
        stamp = time.strftime("%Y%m%d-%H%M%S")
        # Pages are written under a temporary suffix and renamed once complete, so the folder
        # source never sees a half-written page.
        tmp_dir = self.spool / ".scanning"
        tmp_dir.mkdir(parents=True, exist_ok=True)
        cmd = [
            "scanimage",
            "--format=pnm",
            f"--resolution={self.cfg.scan_dpi}",
            f"--batch={tmp_dir}/{stamp}-p%04d.pnm",
            # A flatbed (or a feeder that never reports empty) would scan forever: cap a batch
            # at the same page limit as a PDF.
            f"--batch-count={self.cfg.pdf_max_pages}",
        ]
        if self.device:
            cmd[1:1] = ["-d", self.device]
        # Popen and poll: a long batch is progress, and the watchdog must hear about it.
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        end = time.monotonic() + timeout_s
        while True:
            try:
                proc.wait(timeout=1.0)
                break
            except subprocess.TimeoutExpired:
                if self.on_idle is not None:
                    self.on_idle()
                if time.monotonic() > end:
                    proc.kill()
                    proc.wait()
                    raise
        stderr = proc.stderr.read() if proc.stderr else ""
        written = sorted(tmp_dir.glob(f"{stamp}-p*.pnm"))
        for page in written:
            page.replace(self.incoming / page.name)
        if proc.returncode != 0 and not written:
            # An empty feeder is the normal idle state; anything else is worth a warning.
            msg = (stderr or "").strip().splitlines()[-1:] or [""]
            if "out of documents" not in msg[0].lower() and "no documents" not in msg[0].lower():
                log.warning("scanimage failed (%s): %s", proc.returncode, msg[0])
        self.batches += 1
        return len(written)

    def docs(self, stop: threading.Event) -> Iterator[Doc]:
        """Scan a batch whenever the spool is empty; yield its pages as docs."""
        while not stop.is_set():
            ready = self.folder.ready_files()
            if not ready:
                try:
                    scanned = self.scan_batch()
                except (OSError, subprocess.SubprocessError) as exc:
                    log.warning("scan failed: %s", exc)
                    scanned = 0
                if scanned == 0:
                    if self.on_idle is not None:
                        self.on_idle()
                    stop.wait(self.cfg.scan_interval_s)
                    continue
                ready = self.folder.ready_files()
            for path in ready:
                if stop.is_set():
                    break
                doc = self.folder.take(path)
                if doc is not None:
                    yield doc

    def queue_state(self) -> dict[str, list[dict[str, str]]]:
        return self.folder.queue_state()

    def close(self) -> None:
        return None
