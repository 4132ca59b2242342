"""One vectorised decoding of the detector's raw head tensors, shared by every backend.

The network (models/detector/model.py) outputs, at stride ``s`` over the square input:
- ``heatmap``: 1x1xHxW, sigmoid scores that a signature's centre lies in that cell;
- ``ltrb``: 1x4xHxW, distances in input pixels from the cell centre to the box's left, top,
  right and bottom edges.
Decoding keeps local maxima of the heatmap above the threshold (a 3x3 max filter, as CenterNet
does), reads each peak's box from ``ltrb``, removes overlaps with NMS and maps the boxes back
through the letterbox to [0, 1] of the original image.
"""

from __future__ import annotations

import numpy as np

from edge.detect.preprocess import Letterbox


def _max3x3(a: np.ndarray) -> np.ndarray:
    """3x3 max filter with edge padding, done as two separable passes of shifted maxima."""
    p = np.pad(a, 1, mode="edge")
    rows = np.maximum(np.maximum(p[:-2], p[1:-1]), p[2:])
    return np.maximum(np.maximum(rows[:, :-2], rows[:, 1:-1]), rows[:, 2:])


def nms(boxes: np.ndarray, scores: np.ndarray, iou: float) -> np.ndarray:
    """Indices kept by greedy NMS, best first. Vectorised over the IoU matrix (few boxes per page)."""
    if len(boxes) == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.argsort(-scores, kind="stable")
    b = boxes[order]
    area = np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None)
    ix1 = np.maximum(b[:, None, 0], b[None, :, 0])
    iy1 = np.maximum(b[:, None, 1], b[None, :, 1])
    ix2 = np.minimum(b[:, None, 2], b[None, :, 2])
    iy2 = np.minimum(b[:, None, 3], b[None, :, 3])
    inter = np.clip(ix2 - ix1, 0, None) * np.clip(iy2 - iy1, 0, None)
    ious = inter / np.maximum(area[:, None] + area[None, :] - inter, 1e-9)
    keep = np.ones(len(b), dtype=bool)
    for i in range(len(b)):  # loop over at most max_det boxes; the IoU work above is vectorised
        if keep[i]:
            suppress = ious[i] > iou
            suppress[: i + 1] = False
            keep &= ~suppress
    return order[keep]


def decode(
    heatmap: np.ndarray,
    ltrb: np.ndarray,
    lb: Letterbox,
    stride: int,
    threshold: float,
    iou: float = 0.5,
    max_det: int = 50,
) -> tuple[np.ndarray, np.ndarray]:
    """Raw heads -> (boxes Nx4 normalised x1,y1,x2,y2 of the original image, scores N), best first."""
    hm = np.asarray(heatmap, dtype=np.float32).reshape(heatmap.shape[-2:])
    reg = np.asarray(ltrb, dtype=np.float32).reshape(4, *hm.shape)
    peaks = (hm >= threshold) & (hm == _max3x3(hm))
    ys, xs = np.nonzero(peaks)
    scores = hm[ys, xs]
    if len(scores) > max_det * 4:
        top = np.argpartition(-scores, max_det * 4)[: max_det * 4]
        ys, xs, scores = ys[top], xs[top], scores[top]
    cx = (xs.astype(np.float32) + 0.5) * stride
    cy = (ys.astype(np.float32) + 0.5) * stride
    d = reg[:, ys, xs]
    boxes = np.stack([cx - d[0], cy - d[1], cx + d[2], cy + d[3]], axis=1)
    keep = nms(boxes, scores, iou)[:max_det]
    boxes, scores = boxes[keep], scores[keep]
    # Undo the letterbox, then normalise to the original image and clip to it.
    boxes[:, [0, 2]] = (boxes[:, [0, 2]] - lb.pad_x) / lb.scale / lb.width
    boxes[:, [1, 3]] = (boxes[:, [1, 3]] - lb.pad_y) / lb.scale / lb.height
    boxes = np.clip(boxes, 0.0, 1.0)
    ok = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
    return boxes[ok], scores[ok]
