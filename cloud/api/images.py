"""Page images: devices PUT them by content address (sha256); the dashboard GETs them.

The body is streamed to a temporary file while hashed, so a large upload never sits in memory;
the file is moved into place only when the hash matches the address (idempotent: the same image
twice is stored once).

A device configured with ``images: thumbnail`` sends a downscaled JPEG of the page under the
full image's address with ``X-Signet-Variant: thumbnail``: its bytes cannot match the address,
so it is kept beside it as ``<sha256>.thumb`` and served only while the full image is absent.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

from flask import abort, request, send_file

from cloud import context
from cloud.api import bp
from cloud.auth import require_role, require_token
from cloud.auth.core import current_principal
from edge.contract import SHA256_RE

log = logging.getLogger(__name__)

CHUNK = 64 * 1024
# Magic numbers of the formats devices send.
KINDS = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg", b"RIFF": "image/webp"}


def image_path(root: Path, sha256: str) -> Path:
    return root / sha256[:2] / sha256


def thumb_path(root: Path, sha256: str) -> Path:
    return root / sha256[:2] / f"{sha256}.thumb"


def stored_image(root: Path, sha256: str) -> Path | None:
    """The full image if stored, else its thumbnail, else None."""
    for path in (image_path(root, sha256), thumb_path(root, sha256)):
        if path.is_file():
            return path
    return None


def sniff(head: bytes) -> str | None:
    for magic, mime in KINDS.items():
        if head.startswith(magic):
            if mime == "image/webp" and head[8:12] != b"WEBP":
                return None
            return mime
    return None


def _check_address(sha256: str) -> None:
    if not SHA256_RE.match(sha256):
        abort(400, description="the address must be 64 lowercase hex characters (sha256 of the image)")


@bp.put("/images/<sha256>")
@require_token("device")
def image_put(sha256: str) -> Any:
    _check_address(sha256)
    cfg = context.settings().web
    limit = int(cfg.max_image_mb * 1024 * 1024)
    if request.content_length is not None and request.content_length > limit:
        abort(413, description=f"image larger than {cfg.max_image_mb} MB")
    variant = request.headers.get("X-Signet-Variant", "full").strip().lower()
    if variant not in ("full", "thumbnail"):
        abort(400, description="X-Signet-Variant must be full or thumbnail")
    thumb = variant == "thumbnail"
    root = Path(cfg.images_dir)
    target = thumb_path(root, sha256) if thumb else image_path(root, sha256)
    if target.exists() or (thumb and image_path(root, sha256).exists()):
        request.stream.read()  # drain so the connection can be reused
        return {"sha256": sha256, "stored": False}, 200
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    head = b""
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as out:
            while True:
                chunk = request.stream.read(CHUNK)
                if not chunk:
                    break
                size += len(chunk)
                if size > limit:
                    abort(413, description=f"image larger than {cfg.max_image_mb} MB")
                if len(head) < 16:
                    head += chunk[: 16 - len(head)]
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            abort(400, description="empty body")
        if not thumb and digest.hexdigest() != sha256:
            abort(422, description="the body's sha256 does not match the address")
        if sniff(head) is None:
            abort(415, description="not a PNG, JPEG or WebP image")
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    p = current_principal()
    if not thumb:
        thumb_path(root, sha256).unlink(missing_ok=True)  # the full image supersedes it
    log.info("stored %s %s (%d bytes) from %s", variant, sha256, size, p.name if p else "?")
    return {"sha256": sha256, "stored": True, "size": size, "variant": variant}, 201


@bp.get("/images/<sha256>")
@require_role("viewer")
def image_get(sha256: str) -> Any:
    _check_address(sha256)
    path = stored_image(Path(context.settings().web.images_dir), sha256)
    if path is None:
        abort(404, description="image not uploaded (devices upload page images when configured to)")
    with path.open("rb") as fh:
        mime = sniff(fh.read(16)) or "application/octet-stream"
    full = path.name == sha256
    resp = send_file(
        path.resolve(),
        mimetype=mime,
        max_age=86400,
        conditional=True,
        etag=sha256 if full else f"{sha256}-thumb",
    )
    # A thumbnail may later be replaced by the full image: cache it only briefly.
    resp.headers["Cache-Control"] = "private, max-age=86400, immutable" if full else "private, max-age=60"
    resp.headers["X-Signet-Variant"] = "full" if full else "thumbnail"
    return resp
