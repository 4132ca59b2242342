"""``folder:///path``: a scanner's scan-to-folder target (hot folder).

A file is taken once it has stopped growing for ``settle_s`` (scanners write slowly, and a
half-written PDF must not be read). Hidden and temporary names are ignored. After processing, the
file moves to done/, or to failed/ with ``<name>.reason.txt`` beside it. The folder itself is the
durable queue: a file still there after a crash is simply taken again, and its results, whose ids
derive from the file's sha256 and page index, are not stored twice.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path

from edge.config import SourceConfig
from edge.sources import Doc, uri_path
from edge.sources.pages import PageError, open_pages

log = logging.getLogger(__name__)

POLL_S = 0.25
_TEMP_SUFFIXES = (".part", ".tmp", ".crdownload", ".partial", ".filepart")


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _unique(target: Path) -> Path:
    """``target``, or ``name-2.ext``, ``name-3.ext``... when that name is taken."""
    if not target.exists():
        return target
    for n in range(2, 100_000):
        cand = target.with_name(f"{target.stem}-{n}{target.suffix}")
        if not cand.exists():
            return cand
    raise RuntimeError(f"no free name for {target}")


class FolderSource:
    """Hot folder of images, multi-page TIFFs and PDFs."""

    kind = "folder"
    live = False
    #: called while the source waits with nothing to do, so the watchdog knows it is alive
    on_idle: Callable[[], None] | None = None

    def __init__(self, uri: str, cfg: SourceConfig) -> None:
        self.uri = uri
        self.cfg = cfg
        self.root = uri_path(uri)
        self.done_dir = cfg.done_dir or self.root / "done"
        self.failed_dir = cfg.failed_dir or self.root / "failed"
        for d in (self.root, self.done_dir, self.failed_dir):
            d.mkdir(parents=True, exist_ok=True)
        self._seen: dict[Path, tuple[int, int, float]] = {}  # path -> (size, mtime_ns, stable since)
        self._active: dict[Path, str] = {}  # taken, not finished: path -> state
        self._recent: deque[dict[str, str]] = deque(maxlen=50)
        self._lock = threading.Lock()

    # -- scanning -------------------------------------------------------------------------
    def _candidates(self) -> list[Path]:
        out = []
        try:
            entries = list(os.scandir(self.root))
        except FileNotFoundError:
            return []
        for e in entries:
            name = e.name
            if (
                name.startswith((".", "~"))
                or name.endswith(_TEMP_SUFFIXES)
                or not e.is_file(follow_symlinks=False)
            ):
                continue
            out.append(Path(e.path))
        return sorted(out, key=lambda p: (_mtime(p), p.name))

    def ready_files(self, now: float | None = None) -> list[Path]:
        """Files that have not changed for ``settle_s`` and are not being processed."""
        now = time.monotonic() if now is None else now
        ready = []
        present = set()
        for p in self._candidates():
            present.add(p)
            if p in self._active:
                continue
            try:
                st = p.stat()
            except FileNotFoundError:
                continue
            sig = (st.st_size, st.st_mtime_ns)
            prev = self._seen.get(p)
            if prev is None or prev[:2] != sig:
                self._seen[p] = (*sig, now)
                if self.cfg.settle_s > 0:
                    continue
                prev = self._seen[p]
            if now - prev[2] >= self.cfg.settle_s:
                ready.append(p)
        for gone in set(self._seen) - present:
            del self._seen[gone]
        return ready

    def docs(self, stop: threading.Event) -> Iterator[Doc]:
        """Yield each settled file as a Doc; refused files go straight to failed/."""
        while not stop.is_set():
            batch = self.ready_files()
            for path in batch:
                if stop.is_set():
                    return
                doc = self.take(path)
                if doc is not None:
                    yield doc
            if not batch:
                if self.on_idle is not None:
                    self.on_idle()
                stop.wait(POLL_S)

    def take(self, path: Path) -> Doc | None:
        """Check one settled file: a Doc to process, or None when it was refused (moved to failed/)."""
        try:
            key = file_sha256(path)
            paged = open_pages(path, self.cfg)
        except FileNotFoundError:
            return None
        except PageError as exc:
            self._move(path, ok=False, reason=str(exc))
            return None
        with self._lock:
            self._active[path] = "processing"
        return Doc(
            path=path,
            key=key,
            page_count=paged.page_count,
            dpi=paged.dpi,
            pages=paged.pages,
            captured_at=datetime.fromtimestamp(path.stat().st_mtime, tz=timezone.utc),
            on_finish=self._finish,
            uri=path.resolve().as_uri(),
        )

    def _finish(self, doc: Doc, ok: bool, reason: str | None) -> None:
        with self._lock:
            self._active.pop(doc.path, None)
        self._move(doc.path, ok=ok, reason=reason)

    def _move(self, path: Path, ok: bool, reason: str | None) -> None:
        self._seen.pop(path, None)
        target = _unique((self.done_dir if ok else self.failed_dir) / path.name)
        if not ok:
            # The reason goes first: a crash before the move leaves the file in the inbox to retry.
            Path(f"{target}.reason.txt").write_text((reason or "failed") + "\n", encoding="utf-8")
        try:
            os.replace(path, target)
        except FileNotFoundError:
            log.warning("file vanished before it could be moved", extra={"path": str(path)})
            return
        entry = {"name": path.name, "state": "done" if ok else "failed", "reason": reason or "", "at": _now()}
        with self._lock:
            self._recent.appendleft(entry)
        if ok:
            log.info("file done", extra={"path": str(path), "to": str(target)})
        else:
            log.warning("file failed: %s", reason, extra={"path": str(path), "to": str(target)})

    def queue_state(self) -> dict[str, list[dict[str, str]]]:
        """What the kiosk shows: waiting (incl. processing), recently done, recently failed."""
        with self._lock:
            active = dict(self._active)
            recent = list(self._recent)
        waiting = [{"name": p.name, "state": active.get(p, "waiting")} for p in self._candidates()]
        done = [r for r in recent if r["state"] == "done"]
        failed = [r for r in recent if r["state"] == "failed"]
        if not failed:  # after a restart, show what is already in failed/ with its reason
            for rf in sorted(
                self.failed_dir.glob("*.reason.txt"), key=lambda p: p.stat().st_mtime, reverse=True
            )[:10]:
                failed.append(
                    {
                        "name": rf.name[: -len(".reason.txt")],
                        "state": "failed",
                        "reason": rf.read_text().strip(),
                        "at": "",
                    }
                )
        return {"waiting": waiting, "done": done[:20], "failed": failed[:20]}

    def close(self) -> None:
        return None


def _mtime(p: Path) -> int:
    try:
        return p.stat().st_mtime_ns
    except FileNotFoundError:  # taken away between the listing and now
        return 0


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
