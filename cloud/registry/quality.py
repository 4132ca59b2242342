"""Model quality in the field: live metrics per version and drift against the validation set.

Computed from the cloud database (pages carry ``detector_version`` / ``classifier_version`` as
``name:version``; reviewers' corrections are ``corrections`` rows and reviewer-edited signature
boxes). Drift is the population stability index, per site and ISO week, of the live
distributions (confidence histogram, document types, signature counts 0..5+) against what the
version predicted on its validation set, logged at training (``models.tracking``).
"""

from __future__ import annotations

import logging
import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Integer, func, select
from sqlalchemy.orm import Session

from cloud.db.models import Alert, Correction, Page, Review, SignatureBox
from cloud.registry.registry import page_labels
from edge.contract import utcnow

log = logging.getLogger(__name__)

EPS = 1e-4
BINS = 10


@dataclass
class LiveMetrics:
    """Field figures of one version."""

    pages: int = 0
    mean_confidence: float | None = None
    needs_review_rate: float | None = None
    reviewed: int = 0
    doc_type_accuracy: float | None = None
    signature_presence_accuracy: float | None = None
    signature_count_accuracy: float | None = None
    devices: int = 0


@dataclass
class DriftRow:
    site: str
    week: str
    pages: int
    psi: dict[str, float] = field(default_factory=dict)

    def worst(self) -> float:
        return max(self.psi.values(), default=0.0)


def psi(expected: dict[str, float], actual: dict[str, float]) -> float:
    """Population stability index between two categorical distributions (counts or shares)."""
    keys = set(expected) | set(actual)
    te, ta = sum(expected.values()) or 1.0, sum(actual.values()) or 1.0
    total = 0.0
    for k in keys:
        e = max(expected.get(k, 0.0) / te, EPS)
        a = max(actual.get(k, 0.0) / ta, EPS)
        total += (a - e) * math.log(a / e)
    return total


def _version_column(kind: str) -> Any:
    return {"classifier": Page.classifier_version, "handwriting": Page.handwriting_version}.get(
        kind, Page.detector_version
    )


def _named(col: Any, name: str, version: str, labels: Sequence[str]) -> Any:
    """The condition on a page's version column for a version named by any of its labels."""
    return col.in_(sorted({f"{name}:{version}", *labels}))


def live_metrics(s: Session, kind: str, name: str, version: str, labels: Sequence[str] = ()) -> LiveMetrics:
    """Volume, mean confidence, needs-review rate and reviewer-measured accuracy of a version:
    of the pages that name it ``name:version`` or by one of ``labels`` (see
    ``registry.page_labels``: the label inside its file, which devices running it without a
    rollout give)."""
    tag = _named(_version_column(kind), name, version, labels)
    row = s.execute(
        select(
            func.count(Page.id),
            func.avg(Page.type_confidence),
            func.avg(Page.needs_review.cast(Integer)),
            func.count(func.distinct(Page.device_id)),
        ).where(tag)
    ).one()
    m = LiveMetrics(pages=int(row[0] or 0), devices=int(row[3] or 0))
    if not m.pages:
        return m
    m.needs_review_rate = float(row[2] or 0.0)
    if kind == "classifier":
        m.mean_confidence = float(row[1] or 0.0)
    elif kind == "detector":
        m.mean_confidence = s.scalar(
            select(func.avg(SignatureBox.score))
            .join(Page, Page.id == SignatureBox.page_id)
            .where(tag, SignatureBox.source == "model")
        )
    reviewed_ids = select(Review.page_id).distinct().join(Page, Page.id == Review.page_id).where(tag)
    reviewed = s.execute(
        select(Page.id, Page.doc_type, Page.signature_count).where(Page.id.in_(reviewed_ids))
    ).all()
    m.reviewed = len(reviewed)
    if not reviewed:
        return m
    ids = [r[0] for r in reviewed]
    fixes = {
        pid: val
        for pid, val in s.execute(
            select(Correction.page_id, Correction.value).where(
                Correction.page_id.in_(ids), Correction.kind == "doc_type"
            )
        )
    }
    true_counts = dict(
        s.execute(
            select(SignatureBox.page_id, func.count(SignatureBox.id))
            .where(SignatureBox.page_id.in_(ids), SignatureBox.removed.is_(False))
            .group_by(SignatureBox.page_id)
        ).all()
    )
    ok_type = ok_presence = ok_count = 0
    for pid, label, count in reviewed:
        fixed = fixes.get(pid)
        ok_type += int(fixed is None or fixed.get("label") == label)
        truth = int(true_counts.get(pid, 0))
        ok_presence += int((truth > 0) == (count > 0))
        ok_count += int(truth == count)
    n = len(reviewed)
    m.doc_type_accuracy, m.signature_presence_accuracy, m.signature_count_accuracy = (
        ok_type / n,
        ok_presence / n,
        ok_count / n,
    )
    return m


def _hist(values: list[float]) -> dict[str, float]:
    c: Counter[str] = Counter(str(min(int(v * BINS), BINS - 1)) for v in values)
    return {str(i): float(c.get(str(i), 0)) for i in range(BINS)}


def reference_distributions(validation: dict[str, Any]) -> dict[str, dict[str, float]]:
    """The validation-set distributions logged by ``Tracker.validation_distribution``."""
    ref: dict[str, dict[str, float]] = {}
    hist = validation.get("confidence_hist") or []
    if sum(hist):
        ref["confidence"] = {str(i): float(v) for i, v in enumerate(hist)}
    if validation.get("doc_types"):
        ref["doc_type"] = {k: float(v) for k, v in validation["doc_types"].items()}
    if validation.get("signature_counts"):
        ref["signature_count"] = {k: float(v) for k, v in validation["signature_counts"].items()}
    return ref


def drift(
    s: Session,
    kind: str,
    name: str,
    version: str,
    validation: dict[str, Any],
    weeks: int = 8,
    labels: Sequence[str] = (),
) -> list[DriftRow]:
    """PSI per site and ISO week for every distribution the validation set has, over the pages
    that name the version (``labels`` as in ``live_metrics``)."""
    ref = reference_distributions(validation)
    if not ref:
        return []
    since = datetime.now(timezone.utc) - timedelta(weeks=weeks)
    rows = s.execute(
        select(
            Page.id, Page.site_id, Page.received_at, Page.type_confidence, Page.doc_type, Page.signature_count
        ).where(_named(_version_column(kind), name, version, labels), Page.received_at >= since)
    ).all()
    scores: dict[int, list[float]] = defaultdict(list)
    if kind == "detector" and "confidence" in ref and rows:
        for pid, score in s.execute(
            select(SignatureBox.page_id, SignatureBox.score).where(
                SignatureBox.page_id.in_([r[0] for r in rows]), SignatureBox.source == "model"
            )
        ):
            if score is not None:
                scores[pid].append(float(score))
    groups: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for r in rows:
        iso = r[2].isocalendar()
        groups[(r[1], f"{iso[0]}-W{iso[1]:02d}")].append(r)
    out = []
    for (site, week), rs in sorted(groups.items()):
        d = DriftRow(site, week, len(rs))
        if "confidence" in ref:
            confs = (
                [r[3] for r in rs] if kind == "classifier" else [x for r in rs for x in scores.get(r[0], [])]
            )
            if confs:
                d.psi["confidence"] = psi(ref["confidence"], _hist(confs))
        if "doc_type" in ref:
            d.psi["doc_type"] = psi(ref["doc_type"], dict(Counter(r[4] for r in rs)))
        if "signature_count" in ref:
            d.psi["signature_count"] = psi(
                ref["signature_count"], dict(Counter(str(min(r[5], 5)) for r in rs))
            )
        out.append(d)
    return out


def open_drift_alert(s: Session, key: str, message: str, details: dict[str, Any]) -> bool:
    """Open a ``model_drift`` alert unless one is already open for ``key``; True when opened."""
    open_one = s.scalar(
        select(Alert.id).where(Alert.kind == "model_drift", Alert.key == key, Alert.resolved_at.is_(None))
    )
    if open_one is not None:
        return False
    s.add(Alert(kind="model_drift", key=key, severity="warning", message=message, details=details))
    return True


def drift_message(
    name: str, version: str, rows: list[DriftRow], threshold: float
) -> tuple[str, dict[str, Any]]:
    """The alert text and details for site-weeks of ``name`` ``version`` past ``threshold``."""
    worst = max(rows, key=lambda d: d.worst())
    msg = (
        f"{name} {version}: PSI {worst.worst():.2f} > {threshold} at {worst.site} {worst.week}"
        f" ({len(rows)} site-weeks)"
    )
    return msg, {"rows": len(rows), "worst": worst.psi, "site": worst.site, "week": worst.week}


def check_drift(s: Session, registry: Any, threshold: float) -> list[str]:
    """Drift of every model's ``production`` version against its validation set; opens one
    ``model_drift`` alert per version past ``threshold`` (the alert loop notifies it). Returns
    the keys of the alerts opened."""
    opened: list[str] = []
    drifting: set[str] = set()
    for name in registry.model_names():
        prod = registry.by_alias(name, "production")
        if prod is None:
            continue
        val = registry.validation_distribution(name, prod.version) or {}
        labels = page_labels(registry.versions(name, with_metrics=False)).get(prod.version, [])
        crossed = [
            d for d in drift(s, prod.kind, name, prod.version, val, labels=labels) if d.worst() > threshold
        ]
        if not crossed:
            continue
        key = f"{name}:{prod.version}"
        drifting.add(key)
        msg, details = drift_message(name, prod.version, crossed, threshold)
        if open_drift_alert(s, key, msg, details):
            log.warning("drift alert: %s", msg)
            opened.append(key)
    # Back within the threshold, or no longer in production: the alert has done its job.
    for a in s.scalars(select(Alert).where(Alert.kind == "model_drift", Alert.resolved_at.is_(None))):
        if a.key not in drifting:
            a.resolved_at = utcnow()
            log.info("drift alert resolved: %s", a.key)
    return opened
