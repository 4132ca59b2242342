"""Boxes follow the page through the scanner's skew and the webcam's perspective exactly."""

from __future__ import annotations

import random

import cv2
import numpy as np
import pytest

from models.corpus.degrade import carry, clip, decode, scan, to_frame, webcam, webcam_geometry


def _page_with_blobs(seed: int) -> tuple[np.ndarray, list[np.ndarray], list[tuple[int, int, int, int]]]:
    """A white page with a few black strokes; returns the page, their hulls and pixel boxes."""
    rng = random.Random(seed)
    page = np.full((1100, 800, 3), 250, np.uint8)
    hulls, boxes = [], []
    for _ in range(4):
        x, y = rng.randrange(60, 600), rng.randrange(60, 950)
        pts = np.array([[x + rng.randrange(0, 140), y + rng.randrange(0, 60)] for _ in range(5)], np.int32)
        mask = np.zeros(page.shape[:2], np.uint8)
        cv2.polylines(mask, [pts], False, 255, 5)
        page[mask > 0] = 0
        ys, xs = np.nonzero(mask)
        sq = np.stack([xs, ys], 1).astype(np.float32)
        sq = np.concatenate([sq + np.float32(o) for o in ((0, 0), (1, 0), (0, 1), (1, 1))]).astype(np.float32)
        hulls.append(cv2.convexHull(sq).reshape(-1, 2))
        boxes.append((xs.min(), ys.min(), xs.max() + 1, ys.max() + 1))
    return page, hulls, boxes


def _dark_box(img: np.ndarray, near: list[float], pad: int, level: int) -> tuple[int, int, int, int]:
    x1, y1, x2, y2 = (int(v) for v in near)
    h, w = img.shape[:2]
    ox, oy = max(0, x1 - pad), max(0, y1 - pad)
    g = img[oy : min(h, y2 + pad), ox : min(w, x2 + pad)].max(axis=2)
    ys, xs = np.nonzero(g < level)
    return ox + xs.min(), oy + ys.min(), ox + xs.max() + 1, oy + ys.max() + 1


@pytest.mark.parametrize("seed", range(12))
def test_given_a_webcam_placement_when_hulls_are_carried_then_boxes_match_each_warped_ink_mask(
    seed: int,
) -> None:
    page, hulls, _ = _page_with_blobs(seed)
    g = webcam_geometry(random.Random(seed), page.shape[1], page.shape[0])
    carried = carry(list(hulls), g)
    clipped, visible = clip(carried, *g.frame)
    mag = float(np.linalg.norm(g.quad[3] - g.quad[0])) / g.small[1]  # frame px per shrunk-page px
    for i, (hull, vis) in enumerate(zip(clipped, visible, strict=True)):
        # warp this stroke alone: where its ink lands is the ground truth for its box
        alone = np.zeros(page.shape[:2], np.uint8)
        alone[(page[..., 0] == 0) & _only(hulls[i], page.shape[:2])] = 255
        warped = to_frame(alone, g)
        ys, xs = np.nonzero(warped > 0)
        if len(xs) == 0:
            assert hull is None or vis < 0.05
            continue
        assert hull is not None
        if vis < 1.0:
            continue  # cut by the frame edge: the box is the clipped hull's (see README)
        got = (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
        exp = (hull[:, 0].min(), hull[:, 1].min(), hull[:, 0].max(), hull[:, 1].max())
        # bilinear resampling spreads a pixel's ink over its neighbours: one source pixel of
        # slack, which is more than one frame pixel where the warp magnifies the page
        slack = 0.5 + max(1.0, mag)
        assert all(abs(a - b) <= slack for a, b in zip(got, exp, strict=True)), (got, exp, slack)


def _only(hull: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    m = np.zeros(shape, np.uint8)
    cv2.fillConvexPoly(m, np.round(hull).astype(np.int32), 1)
    return m.astype(bool)


@pytest.mark.parametrize("seed", range(4))
def test_given_a_webcam_frame_when_degraded_then_each_visible_box_holds_dark_ink(seed: int) -> None:
    page, hulls, _ = _page_with_blobs(seed)
    out = webcam(page, list(hulls), random.Random(seed))
    img = decode(out.encoded)
    assert img.shape[:2] == out.shape
    for hull, vis in zip(out.hulls, out.visible, strict=True):
        if hull is None or vis < 0.5:
            continue
        x1, y1 = np.floor(hull.min(0)).astype(int)
        x2, y2 = np.ceil(hull.max(0)).astype(int)
        grey = img.max(axis=2)
        around = grey[max(0, y1 - 15) : y2 + 15, max(0, x1 - 15) : x2 + 15]
        assert grey[max(0, y1) : y2, max(0, x1) : x2].min() < np.median(around) - 30


@pytest.mark.parametrize("seed", range(6))
def test_given_a_skewed_scan_when_hulls_are_carried_through_then_boxes_match_the_rotated_ink(
    seed: int,
) -> None:
    page, hulls, _ = _page_with_blobs(seed)
    out = scan(page, list(hulls), random.Random(seed), dpi=100)
    h, w = page.shape[:2]
    rot = cv2.getRotationMatrix2D((w / 2, h / 2), out.info["skew_deg"], 1.0)
    for i, hull in enumerate(out.hulls):
        assert hull is not None
        alone = np.zeros(page.shape[:2], np.uint8)
        alone[(page[..., 0] == 0) & _only(hulls[i], page.shape[:2])] = 255
        ys, xs = np.nonzero(cv2.warpAffine(alone, rot, (w, h), flags=cv2.INTER_LINEAR) > 0)
        got = (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
        exp = (hull[:, 0].min(), hull[:, 1].min(), hull[:, 0].max(), hull[:, 1].max())
        assert all(abs(a - b) <= 1.5 for a, b in zip(got, exp, strict=True)), (out.info, got, exp)
