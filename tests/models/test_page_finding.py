"""The page-finding evaluation's scoring, and one real run over corpus stills."""

from __future__ import annotations

import numpy as np

from models.page_finding import clipped_iou, evaluate


def test_given_quads_when_scored_then_iou_is_clipped_to_the_frame() -> None:
    a = np.array([[0, 0], [99, 0], [99, 99], [0, 99]], np.float32)
    assert clipped_iou(a, a, 200, 200) == 1.0
    half = np.array([[0, 0], [49, 0], [49, 99], [0, 99]], np.float32)
    assert abs(clipped_iou(a, half, 200, 200) - 0.5) < 0.02
    # A page running out of the frame is only compared inside it.
    out = np.array([[-100, 0], [99, 0], [99, 99], [-100, 99]], np.float32)
    assert clipped_iou(a, out, 200, 200) == 1.0
    assert (
        clipped_iou(a, np.array([[150, 150], [199, 150], [199, 199], [150, 199]], np.float32), 200, 200)
        == 0.0
    )


def test_given_corpus_stills_when_evaluated_then_finder_beats_reading_the_whole_frame() -> None:
    r = evaluate(4, 555000)
    assert r["frames"] == 4
    assert 0.0 <= r["mean_iou"] <= 1.0
    assert r["mean_iou"] > r["base_mean_iou"], r
