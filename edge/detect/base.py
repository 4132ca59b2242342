"""The part of a detector every backend shares: preprocess -> backend inference -> postprocess."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod

import numpy as np

from edge.detect import Detection
from edge.detect.meta import ModelMeta
from edge.detect.postprocess import decode
from edge.detect.preprocess import preprocess

log = logging.getLogger(__name__)


class BaseDetector(ABC):
    """Subclasses set ``meta`` and implement :meth:`infer` (input tensor -> raw head tensors)."""

    meta: ModelMeta
    threshold: float

    def __init__(self, meta: ModelMeta, threshold: float | None = None) -> None:
        self.meta = meta
        self.name = meta.name
        self.version = meta.version
        self.threshold = meta.score_threshold if threshold is None else float(threshold)

    @abstractmethod
    def infer(self, tensor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Run the network on a 1xCxSxS float32 tensor; return (heatmap, ltrb)."""

    def detect(self, image: np.ndarray) -> list[Detection]:
        """Signatures in ``image`` (BGR uint8; grey/RGBA/16-bit/float converted), best first.

        Raises :class:`edge.detect.InvalidImage` for input that cannot be an image.
        """
        m = self.meta
        tensor, lb = preprocess(image, m.input_size, m.mean, m.std)
        heatmap, ltrb = self.infer(tensor)
        boxes, scores = decode(heatmap, ltrb, lb, m.stride, self.threshold, m.nms_iou, m.max_detections)
        return [
            Detection(box=(float(b[0]), float(b[1]), float(b[2]), float(b[3])), score=float(s))
            for b, s in zip(boxes, scores, strict=False)
        ]
