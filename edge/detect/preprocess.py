"""One letterbox preprocessing shared by every backend, and the image normalisation that makes
odd inputs (grey, RGBA, 16-bit, float, huge) safe to feed to it.

The model sees a square, static input (e.g. 512x512). A page is scaled to fit with its aspect
ratio kept, centred, and padded with white (paper), because black padding would look like a
scanner border and invite false detections.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import cv2
import numpy as np

log = logging.getLogger(__name__)

#: Images larger than this (pixels) are refused rather than decoded into memory-hungry copies.
MAX_PIXELS = 400_000_000
#: cv2.resize takes int sizes; sides past this are refused (no page is 100k px long).
MAX_SIDE = 100_000


class InvalidImage(ValueError):
    """The image cannot be used for detection; the message says why."""


@dataclass(frozen=True)
class Letterbox:
    """How an original image was placed in the model input: ``input = original * scale + pad``."""

    scale: float
    pad_x: float
    pad_y: float
    width: int
    height: int


def to_bgr8(image: object) -> np.ndarray:
    """Return a contiguous BGR uint8 HxWx3 copy/view of ``image``.

    Accepts HxW or HxWx1 grey, HxWx3 BGR, HxWx4 BGRA (composited on white), uint8, uint16
    (scaled by 1/257), bool, and float in [0, 1]. Raises :class:`InvalidImage` otherwise.
    """
    if not isinstance(image, np.ndarray):
        raise InvalidImage(f"expected a numpy array, got {type(image).__name__}")
    if image.ndim not in (2, 3):
        raise InvalidImage(f"expected HxW or HxWxC, got shape {image.shape}")
    h, w = image.shape[:2]
    if h == 0 or w == 0 or image.size == 0:
        raise InvalidImage(f"empty image (shape {image.shape})")
    if h > MAX_SIDE or w > MAX_SIDE or h * w > MAX_PIXELS:
        raise InvalidImage(f"image too large ({w}x{h}); limit {MAX_SIDE} px a side, {MAX_PIXELS} pixels")
    if image.ndim == 3 and image.shape[2] not in (1, 3, 4):
        raise InvalidImage(f"expected 1, 3 or 4 channels, got {image.shape[2]}")
    img = _to_uint8(image)
    if img.ndim == 2 or img.shape[2] == 1:
        return cv2.cvtColor(img.reshape(h, w), cv2.COLOR_GRAY2BGR)
    if img.shape[2] == 4:
        # Transparent parts become paper white instead of whatever colour hides under alpha=0.
        alpha = img[:, :, 3:4].astype(np.float32) / 255.0
        bgr = img[:, :, :3].astype(np.float32) * alpha + 255.0 * (1.0 - alpha)
        return np.ascontiguousarray(bgr.round().astype(np.uint8))
    return np.ascontiguousarray(img)


def _to_uint8(image: np.ndarray) -> np.ndarray:
    if image.dtype == np.uint8:
        return image
    if image.dtype == np.bool_:
        return image.astype(np.uint8) * 255
    if image.dtype == np.uint16:
        return (image >> 8).astype(np.uint8)
    if np.issubdtype(image.dtype, np.floating):
        if not np.all(np.isfinite(image)):
            raise InvalidImage("float image contains NaN or infinity")
        return (np.clip(image, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    raise InvalidImage(f"unsupported pixel type {image.dtype} (use uint8, uint16, bool or float in [0, 1])")


def letterbox(image: np.ndarray, size: int, pad_value: int = 255) -> tuple[np.ndarray, Letterbox]:
    """Fit a BGR uint8 image into a ``size`` x ``size`` canvas (aspect kept, centred, padded)."""
    h, w = image.shape[:2]
    nw, nh = _fit(w, h, size)
    # INTER_AREA when shrinking keeps thin pen strokes visible; linear when enlarging.
    interp = cv2.INTER_AREA if min(size / w, size / h) < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(image, (nw, nh), interpolation=interp)
    canvas = np.full((size, size, 3), pad_value, dtype=np.uint8)
    lb = _placed(w, h, nw, nh, size)
    canvas[lb.pad_y : lb.pad_y + nh, lb.pad_x : lb.pad_x + nw] = resized
    return canvas, lb


def _fit(width: int, height: int, size: int) -> tuple[int, int]:
    scale = min(size / width, size / height)
    return min(size, max(1, round(width * scale))), min(size, max(1, round(height * scale)))


def _placed(width: int, height: int, nw: int, nh: int, size: int) -> Letterbox:
    return Letterbox(
        scale=nw / width, pad_x=(size - nw) // 2, pad_y=(size - nh) // 2, width=width, height=height
    )


def letterbox_geometry(width: int, height: int, size: int) -> Letterbox:
    """Where :func:`letterbox` puts a ``width`` x ``height`` image in its canvas, without the pixels."""
    return _placed(width, height, *_fit(width, height, size), size)


def normalise(canvas: np.ndarray, mean: float = 0.5, std: float = 0.5) -> np.ndarray:
    """HxWx3 uint8 BGR -> 1x3xHxW float32 ``(x/255 - mean) / std`` (channel order kept BGR)."""
    x = canvas.astype(np.float32) * (1.0 / (255.0 * std)) - (mean / std)
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None])


def preprocess(image: object, size: int, mean: float = 0.5, std: float = 0.5) -> tuple[np.ndarray, Letterbox]:
    """Any accepted image -> model input tensor (1x3xSxS float32) and its :class:`Letterbox`."""
    bgr = to_bgr8(image)
    canvas, lb = letterbox(bgr, size)
    return normalise(canvas, mean, std), lb
