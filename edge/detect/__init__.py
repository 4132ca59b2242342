"""Signature detection: one interface, one pre/post-processing, backends chosen by config.

``load_detector(cfg)`` returns a :class:`SignatureDetector` for ``cfg.backend``
(``onnxruntime`` or ``tensorrt``). A missing runtime raises :class:`BackendUnavailable` naming
what is missing; there is never a silent fallback to another backend.
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

from edge.detect.preprocess import InvalidImage

if TYPE_CHECKING:
    from edge.config import DetectorConfig

log = logging.getLogger(__name__)

__all__ = [
    "BACKENDS",
    "BackendUnavailable",
    "Detection",
    "InvalidImage",
    "SignatureDetector",
    "load_detector",
]


@dataclass(frozen=True)
class Detection:
    """One signature: ``box`` is x1, y1, x2, y2 normalised to [0, 1] of the input image."""

    box: tuple[float, float, float, float]
    score: float


@runtime_checkable
class SignatureDetector(Protocol):
    """What every backend provides. ``detect`` takes BGR uint8 HxWx3 (grey, RGBA, 16-bit and
    float images are converted) and returns detections best first."""

    name: str
    version: str

    def detect(self, image: np.ndarray) -> list[Detection]: ...


class BackendUnavailable(RuntimeError):
    """The configured runtime cannot be used here; the message says what is missing."""

    def __init__(self, why: str) -> None:
        super().__init__(f"backend unavailable: {why}")
        self.why = why


#: backend name -> "module:factory"; factories take a DetectorConfig and return a detector.
BACKENDS: dict[str, str] = {
    "onnxruntime": "edge.detect.onnx_backend:OnnxDetector",
    "tensorrt": "edge.detect.tensorrt_backend:TensorRTDetector",
}


def load_detector(cfg: DetectorConfig) -> SignatureDetector:
    """Build the detector ``cfg.backend`` names from ``cfg.model``."""
    target = BACKENDS.get(cfg.backend)
    if target is None:
        raise BackendUnavailable(f"unknown backend {cfg.backend!r} (known: {', '.join(BACKENDS)})")
    module_name, attr = target.split(":")
    module = importlib.import_module(module_name)
    detector: SignatureDetector = getattr(module, attr)(cfg)
    log.info("detector %s %s on %s", detector.name, detector.version, cfg.backend)
    return detector
