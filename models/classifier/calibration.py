"""Calibration and scores: temperature scaling fitted on a validation split, expected calibration
error, accuracy and macro-F1. Plain numpy/scipy so the report command needs no torch."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
from scipy.optimize import minimize_scalar

from edge.read.classify import softmax


def nll(logits: np.ndarray, labels: np.ndarray, temperature: float) -> float:
    """Mean negative log-likelihood of the true labels at a temperature."""
    p = softmax(logits, temperature)
    return float(-np.mean(np.log(np.clip(p[np.arange(len(labels)), labels], 1e-12, 1.0))))


def no_errors(logits: np.ndarray, labels: np.ndarray) -> bool:
    """Whether every row's top logit is its true label (the split is separable)."""
    return bool(np.all(np.asarray(logits).argmax(1) == np.asarray(labels)))


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The temperature minimising validation NLL (searched on log scale, 0.05 to 20).

    When every validation page is already right, the NLL keeps falling as the temperature goes
    to zero: the fit would only find its lower bound and make every answer "certain", wrong
    ones included. A validation set with no error is no evidence for sharpening, so then the
    search starts at 1 (the trained softmax, or softer)."""
    if len(labels) == 0:
        return 1.0
    separable = no_errors(logits, labels)
    res = minimize_scalar(
        lambda lt: nll(logits, labels, float(np.exp(lt))),
        bounds=(0.0 if separable else np.log(0.05), np.log(20.0)),
        method="bounded",
    )
    return float(np.exp(res.x))


def ece(probs: np.ndarray, labels: np.ndarray, bins: int = 15) -> float:
    """Expected calibration error: confidence vs accuracy over equal-width confidence bins."""
    if len(labels) == 0:
        return 0.0
    conf = probs.max(axis=1)
    pred = probs.argmax(axis=1)
    correct = (pred == labels).astype(np.float64)
    edges = np.linspace(0.0, 1.0, bins + 1)
    total = 0.0
    for lo, hi in itertools.pairwise(edges):
        sel = (conf > lo) & (conf <= hi)
        if sel.any():
            total += sel.mean() * abs(correct[sel].mean() - conf[sel].mean())
    return float(total)


def accuracy(pred: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(pred == labels)) if len(labels) else 0.0


def macro_f1(pred: np.ndarray, labels: np.ndarray, n_classes: int) -> float:
    """Unweighted mean of per-class F1 over classes present in truth or prediction."""
    f1s = []
    for c in range(n_classes):
        tp = int(np.sum((pred == c) & (labels == c)))
        fp = int(np.sum((pred == c) & (labels != c)))
        fn = int(np.sum((pred != c) & (labels == c)))
        if tp + fp + fn == 0:
            continue
        f1s.append(2 * tp / (2 * tp + fp + fn))
    return float(np.mean(f1s)) if f1s else 0.0


def confusion(pred: np.ndarray, labels: np.ndarray, n_classes: int) -> np.ndarray:
    m = np.zeros((n_classes, n_classes), dtype=np.int64)
    for p, t in zip(pred, labels, strict=False):
        m[t, p] += 1
    return m


def calibrated(clf: Any, recs: list[dict[str, Any]]) -> np.ndarray:
    """Calibrated probabilities of cached records, each with its capture profile's temperature."""
    probs = np.zeros((len(recs), len(clf.info.labels)))
    for prof in sorted({r.get("profile") or "" for r in recs}):
        idx = [i for i, r in enumerate(recs) if (r.get("profile") or "") == prof]
        for k in range(0, len(idx), 32):
            chunk = idx[k : k + 32]
            probs[chunk] = clf.probabilities([recs[i]["text"] for i in chunk], prof or None)
    return probs
