"""``signet models eval-page-finding``: how well ``edge.read.preprocess.find_page`` outlines the
page in corpus webcam stills, against the outline the generator drew (evaluation only).

A found outline is scored by its intersection over union with the true one, both clipped to the
frame (a page that runs out of view can only be outlined up to the frame's border). The baseline
is the reader with no page finding: the whole frame taken as the page.
"""

from __future__ import annotations

import time

import click
import cv2
import numpy as np

WORK_SIDE = 800  # find_page works at this scale: frames are reduced once, here, to save memory


def clipped_iou(a: np.ndarray, b: np.ndarray, width: int, height: int) -> float:
    """Intersection over union of two quadrilaterals (4x2, pixels) inside a width x height frame."""

    def fill(q: np.ndarray) -> np.ndarray:
        m = np.zeros((height, width), np.uint8)
        cv2.fillPoly(m, [np.round(q).astype(np.int32)], 1)
        return m.astype(bool)

    ma, mb = fill(a), fill(b)
    union = int(np.count_nonzero(ma | mb))
    return int(np.count_nonzero(ma & mb)) / union if union else 0.0


def evaluate(frames: int, seed: int) -> dict[str, float]:
    """Generate ``frames`` webcam pages (seeds ``seed``, ``seed + 1``, ...) and score find_page."""
    from edge.read.preprocess import find_page, to_gray
    from models.corpus import generate_page

    ious, base, none, spent = [], [], 0, 0.0
    for i in range(frames):
        page = generate_page(seed + i, profile="webcam")
        gray = to_gray(page.image)
        h, w = gray.shape
        f = WORK_SIDE / max(h, w)
        small = cv2.resize(gray, (round(w * f), round(h * f)), interpolation=cv2.INTER_AREA)
        sh, sw = small.shape
        truth = np.array(page.meta["degradation"]["page_quad"], np.float32) * f
        t0 = time.perf_counter()
        found = find_page(small)
        spent += time.perf_counter() - t0
        whole = np.array([[0, 0], [sw - 1, 0], [sw - 1, sh - 1], [0, sh - 1]], np.float32)
        base.append(clipped_iou(truth, whole, sw, sh))
        if found is None:
            none += 1
            found = whole  # what the reader then reads
        ious.append(clipped_iou(truth, found, sw, sh))
    a, b = np.array(ious), np.array(base)
    return {
        "frames": frames,
        "iou90": float(np.mean(a >= 0.9)),
        "iou95": float(np.mean(a >= 0.95)),
        "mean_iou": float(a.mean()),
        "base_iou90": float(np.mean(b >= 0.9)),
        "base_mean_iou": float(b.mean()),
        "none": none,
        "ms": spent / max(frames, 1) * 1000.0,
    }


@click.command("eval-page-finding")
@click.option("--frames", default=160, show_default=True, help="Corpus webcam stills to generate and score.")
@click.option(
    "--seed", default=555000, show_default=True, help="Seed of the first still (not a training seed)."
)
def eval_page_finding(frames: int, seed: int) -> None:
    """Score the webcam page finder against the corpus's true page outlines."""
    r = evaluate(frames, seed)
    click.echo(
        f"page finding on {r['frames']} corpus webcam stills (seed {seed}): outline within IoU 0.9 of the truth "
        f"{r['iou90']:.1%} (0.95: {r['iou95']:.1%}), mean IoU {r['mean_iou']:.3f}, no outline {r['none']}, "
        f"{r['ms']:.0f} ms a frame"
    )
    click.echo(
        f"baseline (whole frame read as the page): within IoU 0.9 {r['base_iou90']:.1%}, mean IoU {r['base_mean_iou']:.3f}"
    )
