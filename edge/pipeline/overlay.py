"""Drawing the live overlay: signature boxes with scores, and the gate's state."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

GREEN = (60, 200, 60)
AMBER = (0, 190, 255)


def draw(image: np.ndarray, detections: list[Any], note: str = "") -> np.ndarray:
    """A copy of ``image`` with each detection's box and score drawn (boxes are normalised)."""
    out = image.copy()
    h, w = out.shape[:2]
    thick = max(2, round(min(h, w) / 240))
    for d in detections:
        x1, y1, x2, y2 = d.box
        p1 = (int(x1 * w), int(y1 * h))
        p2 = (int(x2 * w), int(y2 * h))
        cv2.rectangle(out, p1, p2, GREEN, thick)
        label = f"{float(d.score):.2f}"
        scale = max(0.5, min(h, w) / 800)
        (tw, th), _ = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
        ty = max(p1[1], th + 6)
        cv2.rectangle(out, (p1[0], ty - th - 6), (p1[0] + tw + 6, ty), GREEN, -1)
        cv2.putText(out, label, (p1[0] + 3, ty - 4), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), thick)
    if note:
        cv2.putText(out, note, (10, h - 12), cv2.FONT_HERSHEY_SIMPLEX, max(0.5, h / 900), AMBER, 2)
    return out
