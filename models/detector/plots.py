"""Images logged with a training run: the PR curve and a grid of predictions (drawn with OpenCV,
so training needs no plotting library)."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from models.detector.metrics import PagePred, average_precision


def pr_curve_image(pages: Sequence[PagePred], threshold: float, size: int = 480) -> np.ndarray:
    """Precision-recall curve at IoU 0.5 with the shipped threshold marked."""
    ap, precision, recall, scores = average_precision(pages, 0.5)
    m = 50
    img = np.full((size, size, 3), 255, np.uint8)
    span = size - 2 * m

    def xy(r: float, p: float) -> tuple[int, int]:
        return int(m + r * span), int(size - m - p * span)

    cv2.rectangle(img, xy(0, 0), xy(1, 1), (0, 0, 0), 1)
    for t in np.linspace(0, 1, 6):
        cv2.putText(
            img, f"{t:.1f}", (xy(t, 0)[0] - 10, size - m + 18), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1
        )
        cv2.putText(img, f"{t:.1f}", (8, xy(0, t)[1] + 4), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1)
    if len(recall) > 1:
        pts = np.array([xy(float(r), float(p)) for r, p in zip(recall, precision, strict=False)], np.int32)
        cv2.polylines(img, [pts], False, (200, 80, 0), 2)
        k = int(np.searchsorted(-scores, -threshold, side="right")) - 1
        if 0 <= k < len(recall):
            cv2.circle(img, xy(float(recall[k]), float(precision[k])), 6, (0, 0, 220), 2)
    cv2.putText(
        img,
        f"PR @ IoU 0.5, AP50 {ap:.3f}, o = threshold {threshold:.2f}",
        (m, 30),
        cv2.FONT_HERSHEY_SIMPLEX,
        0.45,
        (0, 0, 0),
        1,
    )
    cv2.putText(img, "recall", (size // 2 - 20, size - 12), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1)
    return img


def prediction_grid(
    canvases: Sequence[np.ndarray],
    pages: Sequence[PagePred],
    threshold: float,
    cols: int = 4,
    tile: int = 320,
) -> np.ndarray:
    """Tiles of pages with ground truth (green) and detections above threshold (red, with score)."""
    tiles = []
    for img, p in zip(canvases, pages, strict=False):
        t = cv2.resize(np.asarray(img), (tile, tile), interpolation=cv2.INTER_AREA)
        for b in p.gt:
            x1, y1, x2, y2 = (b * tile).astype(int)
            cv2.rectangle(t, (x1, y1), (x2, y2), (0, 170, 0), 2)
        for b, s in zip(p.boxes, p.scores, strict=False):
            if s < threshold:
                continue
            x1, y1, x2, y2 = (b * tile).astype(int)
            cv2.rectangle(t, (x1, y1), (x2, y2), (0, 0, 220), 1)
            cv2.putText(t, f"{s:.2f}", (x1, max(10, y1 - 2)), cv2.FONT_HERSHEY_SIMPLEX, 0.35, (0, 0, 220), 1)
        tiles.append(t)
    while len(tiles) % cols:
        tiles.append(np.full((tile, tile, 3), 255, np.uint8))
    rows = [np.hstack(tiles[i : i + cols]) for i in range(0, len(tiles), cols)]
    return np.vstack(rows) if rows else np.full((tile, tile, 3), 255, np.uint8)
