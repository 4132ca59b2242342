"""QR codes and barcodes decoded with OpenCV (no extra native library on the device)."""

from __future__ import annotations

import logging

import cv2
import numpy as np

from edge.contract import Box, Code

log = logging.getLogger(__name__)

MAX_CODE_SIDE = 1400  # barcodes stay decodable at this size; decoding a full page costs ~3x more
# QR modules of a 2 cm code on a 150-200 dpi scan are 2-3 px: shrinking the page loses them.
# 2,400 px keeps a 200 dpi A4 page whole and halves the time a 300 dpi one would take.
MAX_QR_SIDE = 2400


def _qr_detector() -> cv2.QRCodeDetector:
    """OpenCV's ArUco-based QR detector (4.7 and later) finds the finder patterns of worn,
    faint or fax-dithered codes that the classic detector misses (29 corpus scans with a code:
    26 decoded against 14); older builds fall back to the classic one."""
    aruco = getattr(cv2, "QRCodeDetectorAruco", None)
    return aruco() if aruco is not None else cv2.QRCodeDetector()


def _shrink(gray: np.ndarray, side: int) -> np.ndarray:
    h, w = gray.shape[:2]
    f = min(1.0, side / max(h, w))
    if f >= 1:
        return gray
    return cv2.resize(gray, (max(1, int(w * f)), max(1, int(h * f))), interpolation=cv2.INTER_AREA)


def _box(points: np.ndarray | None, w: int, h: int) -> Box | None:
    if points is None or len(points) == 0:
        return None
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    x1, y1 = max(0.0, pts[:, 0].min() / w), max(0.0, pts[:, 1].min() / h)
    x2, y2 = min(1.0, pts[:, 0].max() / w), min(1.0, pts[:, 1].max() / h)
    if x2 <= x1 or y2 <= y1:
        return None
    return Box(x1=x1, y1=y1, x2=x2, y2=y2)


def decode_codes(gray: np.ndarray) -> list[Code]:
    """QR codes (and 1-D barcodes where this OpenCV build has the detector) on a grey page.

    Boxes are normalised to ``gray``. Failures of the decoders are logged and give no codes:
    a page without a readable code is not an error.
    """
    codes: list[Code] = []
    seen: set[str] = set()
    try:
        qimg = _shrink(gray, MAX_QR_SIDE)
        sh, sw = qimg.shape[:2]
        ok, payloads, points, _ = _qr_detector().detectAndDecodeMulti(qimg)
        if ok:
            for i, payload in enumerate(payloads):
                if payload and payload not in seen:
                    seen.add(payload)
                    pts = points[i] if points is not None else None
                    codes.append(Code(kind="qr", payload=payload[:8000], box=_box(pts, sw, sh)))
    except cv2.error as exc:
        log.debug("QR decoding failed: %s", exc)
    if hasattr(cv2, "barcode"):
        img = _shrink(gray, MAX_CODE_SIDE)
        sh, sw = img.shape[:2]
        try:
            det = cv2.barcode.BarcodeDetector()
            res = det.detectAndDecodeWithType(img)
            ok, infos, _types, corners = (True, *res) if len(res) == 3 else res
            if ok and infos is not None:
                for i, payload in enumerate(infos):
                    if payload and payload not in seen:
                        seen.add(payload)
                        pts = corners[i] if corners is not None else None
                        codes.append(Code(kind="barcode", payload=payload[:8000], box=_box(pts, sw, sh)))
        except (cv2.error, ValueError, TypeError) as exc:
            log.debug("barcode decoding failed: %s", exc)
    return codes
