"""Page-image upload over HTTPS: ``PUT {cloud_url}/api/v1/images/<sha256>`` with the device token.

Images are tracked by the outbox (kind ``image``, key = sha256 of the stored page) and marked
sent only after the server answered 2xx, so an outage or restart retries them. The upload is
idempotent by sha256: sending the same image twice stores it once. What is uploaded follows the
policy (the smaller of the row's own choice and the current ``sync.images`` setting):
``none`` (nothing), ``thumbnail`` (longest side ``thumbnail_px``, JPEG) or ``full`` (the bytes as
stored, whose sha256 the server verifies). The header ``X-Signet-Variant`` says which.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import requests

from edge.config import SyncConfig
from edge.store import outbox
from edge.sync.mqtt import Backoff, read_secret

log = logging.getLogger(__name__)

POLICY_RANK = {"none": 0, "thumbnail": 1, "full": 2}


def thumbnail(data: bytes, max_px: int) -> bytes:
    """A JPEG no larger than ``max_px`` on its longest side."""
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if img is None:
        raise ValueError("stored image cannot be decoded")
    h, w = img.shape[:2]
    scale = min(1.0, max_px / max(h, w))
    if scale < 1.0:
        img = cv2.resize(
            img, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA
        )
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 80])
    if not ok:
        raise ValueError("thumbnail cannot be encoded")
    return bytes(buf.tobytes())


class ImageUploader(threading.Thread):
    """Background thread draining ``image`` rows of the outbox to the cloud."""

    def __init__(
        self, cfg: SyncConfig, db_path: Path, image_path: Callable[[str], Path], stop: threading.Event
    ) -> None:
        super().__init__(name="signet-images", daemon=True)
        self.cfg = cfg
        self.db_path = db_path
        self.image_path = image_path
        self.stop_event = stop
        self.uploaded = 0
        self.session = requests.Session()

    def run(self) -> None:
        conn = sqlite3.connect(str(self.db_path), timeout=30.0, isolation_level=None)
        conn.execute("PRAGMA busy_timeout=30000")
        backoff = Backoff(1.0, self.cfg.upload_retry_max_s)
        try:
            while not self.stop_event.is_set():
                rows = outbox.claim(conn, 32, kinds=("image",))
                if not rows:
                    self.stop_event.wait(1.0)
                    continue
                for row in rows:
                    if self.stop_event.is_set():
                        return
                    err = self.upload_one(row.key, row.payload)
                    if err is None:
                        outbox.mark_sent(conn, [row.seq])
                        backoff.reset()
                    else:
                        outbox.mark_failed(conn, row.seq, err)
                        delay = backoff.next()
                        log.warning(
                            "image %s… not uploaded (%s); retrying in %.1f s", row.key[:12], err, delay
                        )
                        self.stop_event.wait(delay)
                        break
        finally:
            conn.close()

    def upload_one(self, sha256: str, meta: bytes) -> str | None:
        """Upload one image; returns None when done (or nothing to do), else the reason it failed."""
        try:
            wanted = json.loads(meta or b"{}").get("upload", "full")
        except ValueError:
            wanted = "full"
        policy = min((wanted, self.cfg.images), key=lambda p: POLICY_RANK.get(p, 0))
        if policy == "none":
            return None
        path = self.image_path(sha256)
        if not path.exists():
            log.warning("image %s… is no longer stored; nothing to upload", sha256[:12])
            return None
        data = path.read_bytes()
        if policy == "thumbnail":
            try:
                data = thumbnail(data, self.cfg.thumbnail_px)
            except ValueError as exc:
                log.warning("image %s…: %s; skipped", sha256[:12], exc)
                return None
        token = read_secret(self.cfg.token, self.cfg.token_file)
        url = f"{(self.cfg.cloud_url or '').rstrip('/')}/api/v1/images/{sha256}"
        headers = {"Content-Type": "image/jpeg", "X-Signet-Variant": policy}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        try:
            resp = self.session.put(url, data=data, headers=headers, timeout=self.cfg.http_timeout_s)
        except requests.RequestException as exc:
            return f"{type(exc).__name__}: {exc}"
        if 200 <= resp.status_code < 300:
            self.uploaded += 1
            return None
        if resp.status_code in (401, 403):
            return f"HTTP {resp.status_code}: device token refused (check sync.token)"
        return f"HTTP {resp.status_code}: {resp.text[:200]}"
