"""Evaluation of a detector on a page folder: box-level mAP and P/R/F1 (overall, per capture
profile), false positives on each hard-negative kind, and page-level signed/count accuracy.

The detector is run exactly as on the edge (edge.detect, original images, the shared
letterbox and postprocess), so the figures are those of the shipped ONNX file.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from models.detector.dataset import PageRecord, scan_folder
from models.detector.metrics import PagePred, box_metrics, negative_hits, page_metrics

log = logging.getLogger(__name__)

#: Scores kept for the AP curves; P/R/F1 and page figures use the model's shipped threshold.
AP_FLOOR = 0.05


@dataclass
class EvalReport:
    """Everything one evaluation produced (tables are rendered by :func:`format_report`)."""

    name: str
    threshold: float
    overall: dict[str, float]
    per_profile: dict[str, dict[str, float]]
    negatives: dict[str, dict[str, int]]
    pages: dict[str, Any]
    preds: list[PagePred] = field(default_factory=list)
    records: list[PageRecord] = field(default_factory=list)


def run_detector(detect: Callable[[np.ndarray], list[Any]], records: list[PageRecord]) -> list[PagePred]:
    """Predictions for each page; ground truth normalised to the page like the detections."""
    out = []
    for r in records:
        img = cv2.imread(str(r.path), cv2.IMREAD_UNCHANGED)
        h, w = img.shape[:2]
        dets = detect(img)
        boxes = np.array([d.box for d in dets], np.float32).reshape(-1, 4)
        scores = np.array([d.score for d in dets], np.float32)
        gt = r.boxes / np.array([w, h, w, h], np.float32)
        out.append(PagePred(boxes, scores, gt))
    return out


def evaluate(name: str, records: list[PageRecord], preds: list[PagePred], threshold: float) -> EvalReport:
    """Compute every figure from predictions made at :data:`AP_FLOOR`."""
    profiles: dict[str, list[int]] = {}
    for i, r in enumerate(records):
        profiles.setdefault(str(r.meta.get("profile", "real")), []).append(i)
    per_profile = {p: box_metrics([preds[i] for i in idx], threshold) for p, idx in sorted(profiles.items())}
    negs = []
    for r in records:
        wh = np.array([r.width, r.height, r.width, r.height], np.float32)
        negs.append([(n["kind"], np.asarray(n["box"], np.float32) / wh) for n in r.meta.get("negatives", [])])
    return EvalReport(
        name=name,
        threshold=threshold,
        overall=box_metrics(preds, threshold),
        per_profile=per_profile,
        negatives=negative_hits(preds, negs, threshold),
        pages=page_metrics(preds, threshold),
        preds=preds,
        records=records,
    )


def evaluate_folder(
    model: Path, folder: Path, threshold: float | None = None, threads: int = 2
) -> EvalReport:
    """Load ``model`` with the ONNX Runtime backend and evaluate it on ``folder``."""
    from edge.config import DetectorConfig
    from edge.detect import load_detector

    det = load_detector(DetectorConfig(model=model, threads=threads, score_threshold=AP_FLOOR))
    shipped = det.meta.score_threshold if threshold is None else threshold  # type: ignore[attr-defined]
    records = scan_folder(folder)
    preds = run_detector(det.detect, records)
    return evaluate(folder.name, records, preds, shipped)


def format_report(rep: EvalReport) -> str:
    """Plain-text tables for the terminal and the model card."""
    lines = [f"== {rep.name}: {rep.pages['pages']} pages, threshold {rep.threshold:.3f}"]
    hdr = f"{'subset':<10} {'mAP50':>6} {'mAP50-95':>8} {'P':>6} {'R':>6} {'F1':>6} {'TP':>5} {'FP':>5} {'FN':>5}"
    lines += ["box level (IoU 0.5 for P/R/F1):", hdr]
    rows = (
        [("all", rep.overall), *rep.per_profile.items()]
        if len(rep.per_profile) > 1
        else [("all", rep.overall)]
    )
    for k, m in rows:
        lines.append(
            f"{k:<10} {m['map50']:>6.3f} {m['map50_95']:>8.3f} {m['precision']:>6.3f} {m['recall']:>6.3f} "
            f"{m['f1']:>6.3f} {m['tp']:>5} {m['fp']:>5} {m['fn']:>5}"
        )
    if rep.negatives:
        lines += [
            "hard negatives (a false positive covering >= 30% of it):",
            f"{'kind':<16} {'count':>6} {'FP':>5} {'FP rate':>8}",
        ]
        for kind, v in sorted(rep.negatives.items()):
            lines.append(
                f"{kind:<16} {v['count']:>6} {v['false_positives']:>5} {v['false_positives'] / max(v['count'], 1):>8.3f}"
            )
    p = rep.pages
    lines += [
        f"page level: signed/unsigned accuracy {p['signed_accuracy']:.3f}, exact-count accuracy {p['count_accuracy']:.3f}",
        f"  signed: TP {p['signed_tp']}  FP {p['signed_fp']}  FN {p['signed_fn']}  TN {p['signed_tn']}",
        "  count confusion (rows true, columns predicted; 3 = 3 or more):",
        "  " + " " * 6 + "".join(f"{f'pred {j}':>8}" for j in range(p["confusion"].shape[1])),
    ]
    for i, row in enumerate(p["confusion"]):
        lines.append(f"  true {i} " + "".join(f"{v:>8}" for v in row))
    return "\n".join(lines)


def report_dict(rep: EvalReport) -> dict[str, Any]:
    """JSON-able figures (for MLflow and the model card)."""
    pages = {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in rep.pages.items()}
    return {
        "name": rep.name,
        "threshold": rep.threshold,
        "overall": rep.overall,
        "per_profile": rep.per_profile,
        "negatives": rep.negatives,
        "pages": pages,
    }
