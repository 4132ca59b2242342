"""The device's local store: results, content-addressed page images and the outbox.

SQLite in WAL mode through sqlite-utils. A result row and its outbox entry are written in one
transaction, so a kill -9 at any moment leaves either both or neither. Page images are written to
a temporary file, fsynced and renamed into place *before* that transaction, so a stored result
never points at a missing image; an image orphaned by a crash is reclaimed by ``prune``.
Intake is refused (``intake_status``) while the disk is nearly full instead of corrupting it.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import sqlite3
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import cv2
import numpy as np
import sqlite_utils

from edge.config import StoreConfig
from edge.contract import Result, encode, result_topic

log = logging.getLogger(__name__)

JPEG_QUALITY = 90


def encode_page(image: np.ndarray) -> bytes:
    """Encode a BGR page as stored (JPEG): deterministic for the same pixels, so its sha256 can
    go into the Result before the store sees the bytes."""
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise ValueError("page image could not be encoded as JPEG")
    return bytes(buf.tobytes())


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


_SCHEMA = """
CREATE TABLE IF NOT EXISTS results (
    result_id TEXT PRIMARY KEY,
    captured_at TEXT NOT NULL,
    processed_at TEXT NOT NULL,
    stored_at REAL NOT NULL,
    source_kind TEXT,
    source_uri TEXT,
    page_index INTEGER,
    image_sha256 TEXT,
    doc_type TEXT,
    confidence REAL,
    needs_review INTEGER,
    signature_count INTEGER,
    status TEXT,
    json TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS results_stored_at ON results (stored_at);
CREATE INDEX IF NOT EXISTS results_image ON results (image_sha256);
CREATE TABLE IF NOT EXISTS images (
    sha256 TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    stored_at REAL NOT NULL,
    width INTEGER,
    height INTEGER
);
CREATE INDEX IF NOT EXISTS images_stored_at ON images (stored_at)
"""


class StoreFull(RuntimeError):
    """Raised by writes while intake is paused (disk below the free-space floor), and by a write
    the disk itself refused (ENOSPC, SQLite's "database or disk is full"); nothing half-written
    is left behind either way."""


_DISK_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


def _disk_full(exc: BaseException) -> bool:
    if isinstance(exc, OSError) and exc.errno in _DISK_FULL_ERRNOS:
        return True
    # SQLITE_FULL reaches Python as OperationalError with this text (no errno).
    return isinstance(exc, sqlite3.OperationalError) and "disk is full" in str(exc)


class EdgeStore:
    """Results, page images and outbox of one device; safe to open from several processes."""

    def __init__(self, cfg: StoreConfig) -> None:
        self.cfg = cfg
        self.path = Path(cfg.path)
        self.images_dir = Path(cfg.images_dir)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.images_dir.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(self.path), timeout=30.0, isolation_level=None, check_same_thread=False)
        self.db = sqlite_utils.Database(conn)
        # WAL: readers (kiosk, sync) never block the writer. synchronous=FULL: a result whose
        # transaction returned survives power loss too, not just a killed process.
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("PRAGMA busy_timeout=30000")
        self._ensure_schema()

    # -- schema ---------------------------------------------------------------------------
    def _ensure_schema(self) -> None:
        from edge.store import outbox

        for stmt in _SCHEMA.split(";"):
            if stmt.strip():
                self.db.execute(stmt)
        outbox.ensure_schema(self.db)

    # -- images ---------------------------------------------------------------------------
    def image_path(self, sha256: str) -> Path:
        """Where the image with this content address lives (it may have been pruned)."""
        return self.images_dir / sha256[:2] / f"{sha256}.jpg"

    def put_image(self, data: bytes) -> str:
        """Write image bytes under their sha256 (atomic, idempotent) and return the address."""
        ok, reason = self.intake_status()
        if not ok:
            raise StoreFull(reason or "intake paused")
        digest = sha256_hex(data)
        target = self.image_path(digest)
        if target.exists() and target.stat().st_size == len(data):
            return digest
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = ""
        try:
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except BaseException as exc:
            if tmp:
                Path(tmp).unlink(missing_ok=True)
            if _disk_full(exc):
                raise StoreFull(
                    f"disk full: writing a page image under {self.images_dir} failed ({exc}); free space"
                    " or lower store.images_quota_mb"
                ) from exc
            raise
        return digest

    def images_bytes(self) -> int:
        row = self.db.execute("SELECT COALESCE(SUM(size), 0) FROM images").fetchone()
        return int(row[0])

    # -- results --------------------------------------------------------------------------
    def has_result(self, result_id: str) -> bool:
        return (
            self.db.execute("SELECT 1 FROM results WHERE result_id = ?", [str(result_id)]).fetchone()
            is not None
        )

    def save_result(self, result: Result, image: np.ndarray | bytes | None = None) -> bool:
        """Store one Result (and its page image) and queue it for sync.

        Idempotent by ``result_id``: returns False, changing nothing, when it is already stored.
        The image bytes must hash to ``result.image.sha256``; an ndarray is encoded with
        :func:`encode_page` first.
        """
        from edge.store import outbox

        rid = str(result.result_id)
        if self.has_result(rid):
            return False
        size = None
        if image is not None:
            data = encode_page(image) if isinstance(image, np.ndarray) else bytes(image)
            digest = sha256_hex(data)
            if digest != result.image.sha256:
                raise ValueError(
                    f"image sha256 {digest[:12]}… does not match result.image.sha256 {result.image.sha256[:12]}…"
                )
            fresh_image = not self.image_path(digest).exists()
            self.put_image(data)
            size = len(data)
        else:
            fresh_image = False
            ok, reason = self.intake_status()
            if not ok:
                raise StoreFull(reason or "intake paused")
        payload = encode(result)
        now = time.time()
        conn = self.db.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            cur = conn.execute(
                "INSERT OR IGNORE INTO results (result_id, captured_at, processed_at, stored_at, source_kind,"
                " source_uri, page_index, image_sha256, doc_type, confidence, needs_review, signature_count,"
                " status, json) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                [
                    rid,
                    result.captured_at.isoformat(),
                    result.processed_at.isoformat(),
                    now,
                    result.source.kind,
                    result.source.uri,
                    result.source.page_index,
                    result.image.sha256,
                    result.doc_type.label,
                    result.doc_type.confidence,
                    int(result.doc_type.needs_review),
                    result.signature_count,
                    result.status,
                    payload.decode("utf-8"),
                ],
            )
            inserted = cur.rowcount == 1
            if inserted:
                if size is not None:
                    conn.execute(
                        "INSERT OR IGNORE INTO images (sha256, size, stored_at, width, height) VALUES (?,?,?,?,?)",
                        [result.image.sha256, size, now, result.image.width, result.image.height],
                    )
                outbox.enqueue(
                    self.db, kind="result", key=rid, topic=result_topic(result.device_id), payload=payload
                )
                if size is not None and result.image.upload != "none":
                    outbox.enqueue(
                        self.db,
                        kind="image",
                        key=result.image.sha256,
                        topic="",
                        payload=json.dumps({"result_id": rid, "upload": result.image.upload}).encode(),
                    )
            conn.execute("COMMIT")
        except BaseException as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            if fresh_image:
                # The row that would have referenced it is not there: no orphan file either.
                self.image_path(result.image.sha256).unlink(missing_ok=True)
            if _disk_full(exc):
                raise StoreFull(
                    f"disk full: the store {self.path} refused the result ({exc}); nothing was stored."
                    " Free space on that disk"
                ) from exc
            raise
        if inserted:
            self._enforce_quota()
        return inserted

    def recent_results(self, n: int = 20) -> list[Result]:
        """The last ``n`` stored results, newest first."""
        rows = self.db.execute(
            "SELECT json FROM results ORDER BY stored_at DESC, rowid DESC LIMIT ?", [int(n)]
        ).fetchall()
        return [Result.model_validate_json(r[0]) for r in rows]

    def get_result(self, result_id: str) -> Result | None:
        row = self.db.execute("SELECT json FROM results WHERE result_id = ?", [str(result_id)]).fetchone()
        return Result.model_validate_json(row[0]) if row else None

    def count_results(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM results").fetchone()[0])

    def outbox_backlog(self) -> int:
        from edge.store import outbox

        return int(outbox.backlog(self.db))

    # -- disk -----------------------------------------------------------------------------
    def free_mb(self) -> float:
        st = os.statvfs(self.images_dir)
        return st.f_bavail * st.f_frsize / 1_048_576

    def intake_status(self) -> tuple[bool, str | None]:
        """(ok, reason): intake must pause while the disk is below ``min_free_mb``."""
        free = self.free_mb()
        if free < self.cfg.min_free_mb:
            return False, (
                f"disk full: {free:.0f} MB free under {self.images_dir}, below the {self.cfg.min_free_mb} MB floor;"
                " free space or lower store.images_quota_mb"
            )
        return True, None

    # -- quota and retention --------------------------------------------------------------
    def _pending_keys(self, kind: str) -> set[str]:
        """Outbox keys of this kind not yet acknowledged (kept out of eviction)."""
        try:
            rows = self.db.execute(
                "SELECT key FROM outbox WHERE kind = ? AND sent_at IS NULL", [kind]
            ).fetchall()
        except sqlite3.OperationalError:
            # Outbox schema without sent_at: treat every entry as still pending (never lose data).
            rows = self.db.execute("SELECT key FROM outbox WHERE kind = ?", [kind]).fetchall()
        return {str(r[0]) for r in rows}

    def _enforce_quota(self) -> int:
        quota = self.cfg.images_quota_mb * 1_048_576
        total = self.images_bytes()
        if total <= quota:
            return 0
        pending = self._pending_keys("image")
        removed = 0
        for sha, size in self.db.execute("SELECT sha256, size FROM images ORDER BY stored_at").fetchall():
            if total <= quota:
                break
            if sha in pending:
                continue
            self._delete_image(sha)
            total -= int(size)
            removed += 1
        if total > quota:
            log.warning("image quota exceeded by unsynced images", extra={"bytes": total, "quota": quota})
        return removed

    def _delete_image(self, sha: str) -> None:
        with self.db.conn:
            self.db.execute("DELETE FROM images WHERE sha256 = ?", [sha])
        self.image_path(sha).unlink(missing_ok=True)

    def prune(self, now: float | None = None) -> dict[str, int]:
        """Drop synced results and images past ``retention_days``, orphan image files and temp files."""
        now = time.time() if now is None else now
        cutoff = now - self.cfg.retention_days * 86400
        pending_results = self._pending_keys("result")
        pending_images = self._pending_keys("image")
        old = [
            r[0]
            for r in self.db.execute("SELECT result_id FROM results WHERE stored_at < ?", [cutoff]).fetchall()
            if r[0] not in pending_results
        ]
        with self.db.conn:
            for rid in old:
                self.db.execute("DELETE FROM results WHERE result_id = ?", [rid])
        images = 0
        for (sha,) in self.db.execute(
            "SELECT sha256 FROM images WHERE stored_at < ? AND sha256 NOT IN (SELECT image_sha256 FROM results)",
            [cutoff],
        ).fetchall():
            if sha not in pending_images:
                self._delete_image(sha)
                images += 1
        known = {r[0] for r in self.db.execute("SELECT sha256 FROM images").fetchall()}
        orphans = 0
        for f in self.images_dir.glob("*/*"):
            # A crash between the image rename and the result transaction leaves an orphan file;
            # temp files older than a minute are from a writer that died.
            if f.name.startswith(".tmp-"):
                if f.stat().st_mtime < now - 60:
                    f.unlink(missing_ok=True)
                    orphans += 1
            elif f.stem not in known and f.stat().st_mtime < now - 60:
                f.unlink(missing_ok=True)
                orphans += 1
        return {"results": len(old), "images": images, "orphans": orphans}

    def check(self) -> str:
        """SQLite's own integrity check ("ok" when sound)."""
        return str(self.db.execute("PRAGMA integrity_check").fetchone()[0])

    def close(self) -> None:
        self.db.conn.close()


def utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=timezone.utc)


__all__ = ["EdgeStore", "StoreFull", "encode_page", "sha256_hex"]
