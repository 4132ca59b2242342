"""Decoding raw head tensors: peaks, boxes, NMS and the way back through the letterbox."""

from __future__ import annotations

import numpy as np

from edge.detect.postprocess import decode, nms
from edge.detect.preprocess import Letterbox

STRIDE = 8


def heads(
    n: int, peaks: list[tuple[int, int, float, tuple[float, float, float, float]]]
) -> tuple[np.ndarray, np.ndarray]:
    hm = np.zeros((1, 1, n, n), np.float32)
    reg = np.zeros((1, 4, n, n), np.float32)
    for y, x, score, ltrb in peaks:
        hm[0, 0, y, x] = score
        reg[0, :, y, x] = ltrb
    return hm, reg


def test_given_one_peak_when_decoded_then_box_around_cell_centre_in_original_coords() -> None:
    hm, reg = heads(8, [(2, 3, 0.9, (4, 2, 12, 6))])
    lb = Letterbox(scale=0.5, pad_x=0, pad_y=0, width=128, height=128)  # input 64 px
    boxes, scores = decode(hm, reg, lb, STRIDE, 0.5)
    cx, cy = 3.5 * STRIDE, 2.5 * STRIDE  # 28, 20 in input pixels
    expected = np.array([cx - 4, cy - 2, cx + 12, cy + 6]) / 0.5 / 128
    assert np.allclose(boxes, [expected]) and np.allclose(scores, [0.9])


def test_given_scores_below_threshold_then_nothing() -> None:
    hm, reg = heads(8, [(2, 3, 0.2, (4, 4, 4, 4))])
    boxes, _ = decode(hm, reg, Letterbox(1, 0, 0, 64, 64), STRIDE, 0.5)
    assert boxes.shape == (0, 4)


def test_given_neighbouring_cells_of_one_peak_then_only_the_maximum_is_kept() -> None:
    hm, reg = heads(8, [(4, 4, 0.9, (8, 8, 8, 8)), (4, 5, 0.7, (8, 8, 8, 8))])
    boxes, scores = decode(hm, reg, Letterbox(1, 0, 0, 64, 64), STRIDE, 0.5)
    assert len(boxes) == 1 and scores[0] == np.float32(0.9)


def test_given_distant_overlapping_boxes_then_nms_keeps_the_best() -> None:
    hm, reg = heads(
        16, [(4, 4, 0.9, (30, 8, 30, 8)), (4, 6, 0.8, (30, 8, 30, 8)), (12, 12, 0.6, (4, 4, 4, 4))]
    )
    _boxes, scores = decode(hm, reg, Letterbox(1, 0, 0, 128, 128), STRIDE, 0.5, iou=0.5)
    assert list(np.round(scores, 2)) == [0.9, 0.6]


def test_given_letterbox_padding_then_boxes_are_clipped_to_the_page() -> None:
    hm, reg = heads(8, [(1, 2, 0.9, (20, 4, 4, 4))])  # extends into the left padding
    lb = Letterbox(scale=1.0, pad_x=16, pad_y=0, width=32, height=64)
    boxes, _ = decode(hm, reg, lb, STRIDE, 0.5)
    assert boxes[0, 0] == 0.0 and (boxes >= 0).all() and (boxes <= 1).all()


def test_nms_suppresses_by_iou_and_keeps_disjoint() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 1, 10, 10], [20, 20, 30, 30]], np.float32)
    keep = nms(boxes, np.array([0.5, 0.9, 0.4], np.float32), 0.5)
    assert list(keep) == [1, 2]
