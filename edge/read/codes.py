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


def _retry_crop(img: np.ndarray, pts: np.ndarray) -> str:
    """A code found but not decoded (faint or broken modules): the classic decoder on the code's
    own neighbourhood, with a few quiet-zone margins, as is, binarised and enlarged, reads some
    that the ArUco one gives up on; then the classic detector on the whole page. Only runs
    where a code was found, so pages without one pay nothing."""
    q = np.asarray(pts, dtype=np.float64).reshape(-1, 2)
    side = float(max(np.ptp(q[:, 0]), np.ptp(q[:, 1])))
    if side < 8:
        return ""
    h, w = img.shape[:2]
    classic = cv2.QRCodeDetector()
    for margin in (0.25, 0.5, 1.0):
        m = side * margin
        x1, y1 = int(max(0, q[:, 0].min() - m)), int(max(0, q[:, 1].min() - m))
        x2, y2 = int(min(w, q[:, 0].max() + m)), int(min(h, q[:, 1].max() + m))
        crop = img[y1:y2, x1:x2]
        for candidate in (
            crop,
            cv2.threshold(crop, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)[1],
            cv2.resize(crop, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC),
        ):
            text = classic.detectAndDecode(candidate)[0]
            if text:
                return str(text)
    # the classic detector's own search over the page finds the code's corners differently
    return str(classic.detectAndDecode(img)[0] or "")


def decode_codes(gray: np.ndarray, barcodes: bool = True, qr: bool = True) -> list[Code]:
    """QR codes (unless ``qr`` is false) and 1-D barcodes (where this OpenCV build has the
    detector, unless ``barcodes`` is false) on a grey page.

    Boxes are normalised to ``gray``. Failures of the decoders are logged and give no codes:
    a page without a readable code is not an error.
    """
    codes: list[Code] = []
    seen: set[str] = set()
    if qr:
        try:
            qimg = _shrink(gray, MAX_QR_SIDE)
            sh, sw = qimg.shape[:2]
            ok, payloads, points, _ = _qr_detector().detectAndDecodeMulti(qimg)
            if ok:
                for i, payload in enumerate(payloads):
                    if not payload and points is not None:
                        payload = _retry_crop(qimg, points[i])
                    if payload and payload not in seen:
                        seen.add(payload)
                        pts = points[i] if points is not None else None
                        codes.append(Code(kind="qr", payload=payload[:8000], box=_box(pts, sw, sh)))
        except cv2.error as exc:
            log.debug("QR decoding failed: %s", exc)
    if barcodes and hasattr(cv2, "barcode"):
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
