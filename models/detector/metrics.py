"""Detection metrics: box-level AP (COCO-style 101-point, IoU 0.50:0.95), P/R/F1 at a threshold,
false positives on hard negatives, and page-level signed / count accuracy."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

IOU_THRESHOLDS = np.round(np.arange(0.5, 0.96, 0.05), 2)


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of Nx4 and Mx4 x1,y1,x2,y2 boxes."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)), np.float32)
    ix1 = np.maximum(a[:, None, 0], b[None, :, 0])
    iy1 = np.maximum(a[:, None, 1], b[None, :, 1])
    ix2 = np.minimum(a[:, None, 2], b[None, :, 2])
    iy2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(ix2 - ix1, 0, None) * np.clip(iy2 - iy1, 0, None)
    aa = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    ab = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / np.maximum(aa[:, None] + ab[None, :] - inter, 1e-9)


@dataclass
class PagePred:
    """Predictions (normalised boxes, scores; any threshold) and ground truth for one page."""

    boxes: np.ndarray
    scores: np.ndarray
    gt: np.ndarray


def match(pred: np.ndarray, scores: np.ndarray, gt: np.ndarray, iou: float) -> np.ndarray:
    """Greedy matching by score; True where a prediction is a true positive at ``iou``."""
    tp = np.zeros(len(pred), bool)
    if len(pred) == 0 or len(gt) == 0:
        return tp
    ious = iou_matrix(pred, gt)
    used = np.zeros(len(gt), bool)
    for i in np.argsort(-scores, kind="stable"):
        cand = np.where(~used, ious[i], -1.0)
        j = int(np.argmax(cand))
        if cand[j] >= iou:
            tp[i], used[j] = True, True
    return tp


def average_precision(
    pages: Sequence[PagePred], iou: float
) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    """AP at one IoU (101-point interpolation) and the (precision, recall, score) curve."""
    scores, tps = [], []
    n_gt = 0
    for p in pages:
        scores.append(p.scores)
        tps.append(match(p.boxes, p.scores, p.gt, iou))
        n_gt += len(p.gt)
    s = np.concatenate(scores) if scores else np.zeros(0)
    tp = np.concatenate(tps) if tps else np.zeros(0, bool)
    order = np.argsort(-s, kind="stable")
    s, tp = s[order], tp[order]
    ctp, cfp = np.cumsum(tp), np.cumsum(~tp)
    recall = ctp / max(n_gt, 1)
    precision = ctp / np.maximum(ctp + cfp, 1)
    if n_gt == 0:
        return float("nan"), precision, recall, s
    env = np.maximum.accumulate(precision[::-1])[::-1] if len(precision) else precision
    ap = 0.0
    for r in np.linspace(0, 1, 101):
        k = np.searchsorted(recall, r, side="left")
        ap += env[k] if k < len(env) else 0.0
    return ap / 101, precision, recall, s


def prf(pages: Sequence[PagePred], threshold: float, iou: float = 0.5) -> dict[str, float]:
    """Precision, recall, F1 and counts at a score threshold."""
    tp = fp = n_gt = 0
    for p in pages:
        k = p.scores >= threshold
        m = match(p.boxes[k], p.scores[k], p.gt, iou)
        tp += int(m.sum())
        fp += int((~m).sum())
        n_gt += len(p.gt)
    precision = tp / max(tp + fp, 1)
    recall = tp / max(n_gt, 1)
    f1 = 2 * precision * recall / max(precision + recall, 1e-9)
    return {"precision": precision, "recall": recall, "f1": f1, "tp": tp, "fp": fp, "fn": n_gt - tp}


def box_metrics(pages: Sequence[PagePred], threshold: float) -> dict[str, float]:
    """mAP50, mAP50-95 and P/R/F1 at ``threshold``."""
    aps = [average_precision(pages, t)[0] for t in IOU_THRESHOLDS]
    out = {"map50": aps[0], "map50_95": float(np.nanmean(aps)) if not np.all(np.isnan(aps)) else float("nan")}
    out.update(prf(pages, threshold))
    return out


def best_threshold(pages: Sequence[PagePred]) -> tuple[float, float]:
    """Threshold that maximises F1 at IoU 0.5 (chosen on the synthetic validation split only)."""
    best = (0.3, -1.0)
    for t in np.round(np.arange(0.1, 0.91, 0.025), 3):
        f1 = prf(pages, float(t))["f1"]
        if f1 > best[1] + 1e-9:
            best = (float(t), f1)
    return best


def page_metrics(pages: Sequence[PagePred], threshold: float, max_count: int = 3) -> dict[str, object]:
    """Signed/unsigned accuracy, exact-count accuracy and the count confusion table
    (rows: true count, columns: predicted count; counts above ``max_count`` pooled)."""
    true = np.array([len(p.gt) for p in pages])
    pred = np.array([int((p.scores >= threshold).sum()) for p in pages])
    k = max_count + 1
    table = np.zeros((k, k), int)
    for t, q in zip(np.minimum(true, max_count), np.minimum(pred, max_count), strict=False):
        table[t, q] += 1
    signed_t, signed_p = true > 0, pred > 0
    return {
        "signed_accuracy": float((signed_t == signed_p).mean()) if len(pages) else float("nan"),
        "count_accuracy": float((true == pred).mean()) if len(pages) else float("nan"),
        "signed_tp": int((signed_t & signed_p).sum()),
        "signed_fp": int((~signed_t & signed_p).sum()),
        "signed_fn": int((signed_t & ~signed_p).sum()),
        "signed_tn": int((~signed_t & ~signed_p).sum()),
        "confusion": table,
        "pages": len(pages),
    }


def negative_hits(
    pages: Sequence[PagePred], negatives: Sequence[list[tuple[str, np.ndarray]]], threshold: float
) -> dict[str, dict[str, int]]:
    """Per hard-negative kind: how many there are and how many a false positive lands on
    (a detection above threshold, matched to no signature, covering >= 30% of the negative)."""
    out: dict[str, dict[str, int]] = {}
    for p, negs in zip(pages, negatives, strict=False):
        k = p.scores >= threshold
        boxes, scores = p.boxes[k], p.scores[k]
        fp = boxes[~match(boxes, scores, p.gt, 0.5)]
        for kind, nb in negs:
            row = out.setdefault(kind, {"count": 0, "false_positives": 0})
            row["count"] += 1
            if len(fp):
                ix = np.clip(np.minimum(fp[:, 2], nb[2]) - np.maximum(fp[:, 0], nb[0]), 0, None)
                iy = np.clip(np.minimum(fp[:, 3], nb[3]) - np.maximum(fp[:, 1], nb[1]), 0, None)
                cover = ix * iy / max((nb[2] - nb[0]) * (nb[3] - nb[1]), 1e-9)
                row["false_positives"] += int((cover >= 0.3).any())
    return out
