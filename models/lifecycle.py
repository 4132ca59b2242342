"""Retraining from the field: ``signet models dataset --from-reviews`` and ``signet models compare``.

``dataset`` turns what reviewers corrected on the dashboard into a labelled set in the corpus
format (``images/<id>.png``, ``labels/<id>.txt`` in YOLO form, ``meta/<id>.json``,
``manifest.jsonl``), so detector and classifier training can mix it with the synthetic corpus.
Labels are what the page *should* have said: the reviewer's document type when they changed it,
the signature boxes that survived review (model boxes not removed plus boxes reviewers drew).

``compare`` evaluates a candidate and the production model on the same test set and registers
the candidate in MLflow with both results (``candidate_*``, ``production_*``, ``delta_*``).
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

log = logging.getLogger(__name__)


def mix_options(f: Any) -> Any:
    """``--mix DIR`` (repeatable) and ``--mix-repeat N`` for the training commands: labelled page
    folders (``signet models dataset --from-reviews``) mixed into training, weighted up."""
    f = click.option(
        "--mix-repeat", default=3, show_default=True, help="Times each mixed page counts per epoch."
    )(f)
    return click.option(
        "--mix",
        "mix",
        multiple=True,
        help="Labelled page folder mixed into training (repeatable), e.g. `signet models dataset --from-reviews`.",
    )(f)


@dataclass
class ExportSummary:
    pages: int = 0
    skipped_no_image: int = 0
    with_signatures: int = 0
    doc_type_corrected: int = 0


def export_reviewed(
    engine: Any, images_dir: Path, out: Path, mark: bool = True, since_last: bool = False
) -> ExportSummary:
    """Write every reviewed page (with its stored image) as a labelled page under ``out``."""
    import cv2
    import numpy as np
    from sqlalchemy import select

    from cloud.db.engine import session_scope
    from cloud.db.models import Correction, Page, Review, SignatureBox
    from edge.contract import utcnow

    for sub in ("images", "labels", "meta"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    summary = ExportSummary()
    with session_scope(engine) as s:
        reviewed = select(Review.page_id).distinct()
        if since_last:
            reviewed = select(Correction.page_id).where(Correction.exported_at.is_(None)).distinct()
        pages = s.scalars(select(Page).where(Page.id.in_(reviewed)).order_by(Page.id)).all()
        with (out / "manifest.jsonl").open("a", encoding="utf-8") as manifest:
            for page in pages:
                src = images_dir / page.image_sha256[:2] / page.image_sha256
                data = np.frombuffer(src.read_bytes(), np.uint8) if src.is_file() else None
                img = cv2.imdecode(data, cv2.IMREAD_COLOR) if data is not None else None
                if img is None:
                    summary.skipped_no_image += 1
                    log.warning(
                        "page %s: no stored image %s; not exported", page.result_id, page.image_sha256[:12]
                    )
                    continue
                h, w = img.shape[:2]
                boxes = s.scalars(
                    select(SignatureBox).where(
                        SignatureBox.page_id == page.id, SignatureBox.removed.is_(False)
                    )
                ).all()
                fixes = s.scalars(
                    select(Correction).where(Correction.page_id == page.id).order_by(Correction.created_at)
                ).all()
                doc_type = page.doc_type
                fields: dict[str, Any] = {}
                for c in fixes:
                    if c.kind == "doc_type" and c.value.get("label"):
                        doc_type = str(c.value["label"])
                    elif c.kind == "field" and c.name:
                        fields[c.name] = c.value.get("value")
                summary.doc_type_corrected += int(doc_type != page.doc_type)
                pid = f"review-{page.result_id}"
                sigs = [
                    {
                        "box": [
                            round(b.x1 * w, 1),
                            round(b.y1 * h, 1),
                            round(b.x2 * w, 1),
                            round(b.y2 * h, 1),
                        ],
                        "kind": "signature",
                    }
                    for b in boxes
                ]
                summary.with_signatures += int(bool(sigs))
                cv2.imwrite(str(out / "images" / f"{pid}.png"), img)
                (out / "labels" / f"{pid}.txt").write_text(
                    "".join(
                        f"0 {(b.x1 + b.x2) / 2:.6f} {(b.y1 + b.y2) / 2:.6f} {b.x2 - b.x1:.6f} {b.y2 - b.y1:.6f}\n"
                        for b in boxes
                    )
                )
                meta = {
                    "id": pid,
                    "source": "review",
                    "result_id": str(page.result_id),
                    "device_id": page.device_id,
                    "site": page.site_id,
                    "profile": "webcam" if page.source_kind in ("camera", "csi", "rtsp", "video") else "scan",
                    "doc_type": doc_type,
                    "model_doc_type": page.doc_type,
                    "width": w,
                    "height": h,
                    "text": page.text,
                    "fields": fields,
                    "signatures": sigs,
                    "negatives": [],
                    "expected_signature_places": len(sigs),
                    "models": {"detector": page.detector_version, "classifier": page.classifier_version},
                }
                (out / "meta" / f"{pid}.json").write_text(json.dumps(meta, indent=1, ensure_ascii=False))
                manifest.write(json.dumps({"id": pid, "doc_type": doc_type, "signatures": len(sigs)}) + "\n")
                summary.pages += 1
                if mark:
                    for c in fixes:
                        c.exported_at = utcnow()
    return summary


@click.command("dataset")
@click.option(
    "--from-reviews", "from_reviews", is_flag=True, required=True, help="Export reviewers' corrections."
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("var/data/reviews"),
    show_default=True,
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="SIGNET_CONFIG",
    default=None,
    help="Cloud settings file.",
)
@click.option("--new-only", is_flag=True, help="Only pages with corrections not exported before.")
def dataset(from_reviews: bool, out: Path, config_path: Path | None, new_only: bool) -> None:
    """Export reviewed pages with their images as a labelled set in the corpus format."""
    from cloud.config import CloudConfig
    from cloud.db.engine import make_engine
    from signet.config import ConfigError, load_settings

    try:
        cfg = load_settings(CloudConfig, config_path, environ=os.environ)
    except ConfigError as exc:
        raise click.ClickException("; ".join(exc.errors)) from exc
    engine = make_engine(cfg.database.url)
    try:
        s = export_reviewed(engine, Path(cfg.web.images_dir), out, mark=True, since_last=new_only)
    finally:
        engine.dispose()
    click.echo(
        f"{s.pages} reviewed page(s) written to {out} ({s.with_signatures} with signatures, "
        f"{s.doc_type_corrected} with a corrected document type); {s.skipped_no_image} skipped: no stored image"
    )


# -- compare -------------------------------------------------------------------------------------


def evaluate_model(kind: str, model: Path, data: Path) -> dict[str, float]:
    """Flat figures of one ONNX model on a labelled folder (corpus format)."""
    if kind == "detector":
        from models.detector.evaluate import evaluate_folder, report_dict

        rep = report_dict(evaluate_folder(model, data))
        flat = {k: float(v) for k, v in rep["overall"].items() if isinstance(v, int | float)}
        flat |= {
            k: float(rep["pages"][k]) for k in ("signed_accuracy", "count_accuracy") if k in rep["pages"]
        }
        return flat
    import numpy as np

    from edge.read.classify import DocClassifier
    from models.classifier import calibration as cal

    recs = [json.loads(p.read_text()) for p in sorted((data / "meta").glob("*.json"))]
    recs = [r for r in recs if r.get("text") and r.get("doc_type")]
    if not recs:
        raise click.ClickException(f"no pages with text and doc_type under {data}/meta")
    clf = DocClassifier(model)
    labels = list(clf.info.labels)
    probs = cal.calibrated(clf, recs)
    y = np.array([labels.index(r["doc_type"]) if r["doc_type"] in labels else -1 for r in recs])
    pred = probs.argmax(1)
    return {
        "accuracy": cal.accuracy(pred, y),
        "macro_f1": cal.macro_f1(pred, y, len(labels)),
        "pages": float(len(recs)),
    }


def production_model(tracking_uri: str | None, name: str, dest: Path) -> Path | None:
    """The ONNX of the version aliased ``production`` in the registry, downloaded to ``dest``."""
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    from models.tracking import MODEL_DIR, resolve_tracking_uri

    uri = resolve_tracking_uri(tracking_uri)
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    try:
        mv = client.get_model_version_by_alias(name, "production")
    except MlflowException:
        return None
    if not mv.run_id:
        return None
    folder = Path(client.download_artifacts(mv.run_id, MODEL_DIR, str(dest)))
    onnx_name = (mv.tags or {}).get("onnx_file")
    return folder / onnx_name if onnx_name else next(folder.glob("*.onnx"), None)


@click.command("compare")
@click.option(
    "--candidate",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="Candidate ONNX.",
)
@click.option(
    "--production",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Production ONNX (default: the registry's `production` alias).",
)
@click.option(
    "--data",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    required=True,
    help="Test set (corpus format).",
)
@click.option("--kind", type=click.Choice(["detector", "classifier"]), default="detector", show_default=True)
@click.option(
    "--name", default=None, help="Registered model name (default signet-detector / signet-classifier)."
)
@click.option(
    "--card", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None, help="Model card."
)
@click.option(
    "--tracking-uri", default=None, help="MLflow tracking URI (default: offline SQLite under var/mlflow)."
)
def compare(
    candidate: Path,
    production: Path | None,
    data: Path,
    kind: str,
    name: str | None,
    card: Path | None,
    tracking_uri: str | None,
) -> None:
    """Evaluate candidate and production on the same test set; register the candidate with both."""
    from models.tracking import tracked_run

    name = name or f"signet-{kind}"
    with tempfile.TemporaryDirectory() as tmp:
        prod = production or production_model(tracking_uri, name, Path(tmp))
        if prod is None:
            click.echo(f"no production version of {name} yet: evaluating the candidate alone")
        cand = evaluate_model(kind, candidate, data)
        base = evaluate_model(kind, prod, data) if prod is not None else {}
        params = {
            "candidate": str(candidate),
            "production": str(production or f"{name}@production"),
            "data": str(data),
        }
        with tracked_run(f"{kind}-compare", params, tracking_uri=tracking_uri) as t:
            t.metrics({f"candidate_{k}": v for k, v in cand.items()})
            t.metrics({f"production_{k}": v for k, v in base.items()})
            t.metrics({f"delta_{k}": cand[k] - base[k] for k in cand if k in base})
            t.json_artifact({"candidate": cand, "production": base}, "compare.json")
            version = t.register_onnx(candidate, name, card=card, kind=kind)
    click.echo(f"{'metric':<18} {'candidate':>10} {'production':>11} {'delta':>8}")
    for k in sorted(cand):
        b = base.get(k)
        click.echo(
            f"{k:<18} {cand[k]:>10.4f} {b if b is not None else float('nan'):>11.4f} {cand[k] - (b or 0.0) if b is not None else float('nan'):>+8.4f}"
        )
    click.echo(f"registered {name} version {version} as candidate (run {t.run_id})")
