"""``signet models train-classifier`` and ``signet models eval-classifier``."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import click
import numpy as np

from models.lifecycle import mix_options

log = logging.getLogger(__name__)


@click.command("train-classifier")
@click.option("--train-pages", default=600, show_default=True, help="Corpus pages OCR'd for training.")
@click.option("--val-pages", default=120, show_default=True, help="Pages for calibration (temperature).")
@click.option("--test-pages", default=80, show_default=True, help="Pages held out for the scores.")
@click.option(
    "--workers", default=1, show_default=True, help="OCR worker processes for pages not cached yet."
)
@click.option("--ocr-only", is_flag=True, help="Only fill the OCR cache (var/classifier/ocr), do not train.")
@click.option("--epochs", default=8, show_default=True)
@click.option("--layers", default=4, show_default=True, help="MiniLM layers kept (of 6).")
@click.option("--max-length", default=128, show_default=True, help="Tokens read per page.")
@click.option("--batch-size", default=16, show_default=True)
@click.option("--lr", default=2e-4, show_default=True, help="Learning rate of the encoder layers trained.")
@click.option("--head-lr", default=5e-3, show_default=True, help="Learning rate of the classification head.")
@click.option(
    "--freeze-layers",
    default=2,
    show_default=True,
    help="Lower layers kept as pretrained (with the embeddings).",
)
@click.option("--threads", default=2, show_default=True, help="Torch CPU threads.")
@mix_options
@click.option(
    "--export/--no-export",
    default=True,
    show_default=True,
    help="Export to ONNX + INT8 under var/classifier and register it in MLflow (alias candidate).",
)
@click.option(
    "--tracking-uri", default=None, help="MLflow tracking URI (default: offline SQLite under var/)."
)
def train_classifier(
    train_pages: int,
    val_pages: int,
    test_pages: int,
    workers: int,
    ocr_only: bool,
    epochs: int,
    layers: int,
    max_length: int,
    batch_size: int,
    lr: float,
    head_lr: float,
    freeze_layers: int,
    threads: int,
    mix: tuple[str, ...],
    mix_repeat: int,
    export: bool,
    tracking_uri: str | None,
) -> None:
    """OCR corpus pages (cached), fine-tune MiniLM on the text, calibrate, track in MLflow."""
    from models.classifier.data import build_cache

    for split, n in (("train", train_pages), ("val", val_pages), ("test", test_pages)):
        t0 = time.perf_counter()
        count = 0
        for rec in build_cache(split, n, workers=workers):
            count += 1
            if count % 25 == 0:
                click.echo(
                    f"{split}: {count} new pages read ({(time.perf_counter() - t0) / count:.2f} s/page), last {rec['id']}"
                )
        if count:
            click.echo(f"{split}: read {count} new pages in {time.perf_counter() - t0:.0f} s")
    if ocr_only:
        return

    from models.classifier.train import TrainParams, train
    from models.tracking import tracked_run

    params = TrainParams(
        layers=layers,
        max_length=max_length,
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        head_lr=head_lr,
        freeze_layers=freeze_layers,
        threads=threads,
        mix=tuple(mix),
        mix_repeat=mix_repeat,
    )
    with tracked_run(
        "classifier", params=dict(params.__dict__), tracking_uri=tracking_uri, run_name="doctype"
    ) as t:
        result = train(params, on_epoch=lambda e, m: t.metrics(m, step=e))
        flat = {f"test_{k}": v for k, v in result["test"].items()}
        flat.update({f"test_uncal_{k}": v for k, v in result["test_uncalibrated"].items()})
        flat["temperature"] = result["temperature"]
        flat.update({f"temperature_{k}": v for k, v in result["temperatures"].items()})
        for prof, sc in result["test_by_profile"].items():
            flat.update({f"test_{prof}_{k}": v for k, v in sc.items()})
        flat["vocab_size"] = result["vocab_size"]
        t.metrics(flat)
        val = result.pop("validation_predictions")
        t.validation_distribution(confidences=val["confidences"], doc_types=val["doc_types"])
        t.json_artifact({k: v for k, v in result.items()}, "classifier_scores.json")
        run_id = t.run_id
    click.echo(json.dumps({k: v for k, v in result.items() if k != "history"}, indent=2))
    if export:
        # Export (FP32 + INT8, checked against each other) and register the INT8 file with a
        # draft card; written under var/, never over the shipped artifact.
        from export.classifier_export import classifier_cmd
        from models.cards import draft_card

        out = Path("var/classifier/classifier.int8.onnx")
        draft_card(
            out.with_name("classifier.md"),
            name="signet-classifier",
            version=str(result["version"]),
            kind="document-type classifier",
            run_id=run_id,
            params=dict(params.__dict__),
            metrics={**flat},
            data=f"OCR text of corpus pages {result['pages']}"
            + (f"; mixed: {', '.join(mix)}" if mix else ""),
        )
        ctx = click.get_current_context()
        ctx.invoke(classifier_cmd, int8_out=out, register=True, tracking_uri=tracking_uri)


@click.command("eval-classifier")
@click.option(
    "--model",
    "model_path",
    type=click.Path(path_type=Path),
    default=Path("models/artifacts/classifier.int8.onnx"),
    show_default=True,
    help="ONNX classifier to evaluate.",
)
@click.option("--split", default="test", show_default=True, type=click.Choice(["train", "val", "test"]))
@click.option("--errors", "show_errors", is_flag=True, help="List the misclassified pages.")
def eval_classifier(model_path: Path, split: str, show_errors: bool) -> None:
    """Accuracy, macro-F1 and calibration error of an ONNX classifier on a cached OCR split."""
    from edge.read.classify import DocClassifier
    from models.classifier import calibration as cal
    from models.classifier.data import load_cached
    from models.classifier.train import misclassified

    recs = load_cached(split)
    if not recs:
        raise click.ClickException(
            f"no cached OCR text for {split}: run `signet models train-classifier --ocr-only`"
        )
    clf = DocClassifier(model_path)
    labels = list(clf.info.labels)
    probs = cal.calibrated(clf, recs)
    y = np.array([labels.index(r["doc_type"]) for r in recs])
    pred = probs.argmax(1)
    per = ", ".join(f"{k} {v:.3f}" for k, v in clf.info.temperatures)
    click.echo(
        f"model {model_path} ({clf.info.name} {clf.info.version}, T={clf.info.temperature:.3f}"
        f"{f'; {per}' if per else ''}) on {len(recs)} {split} pages"
    )
    click.echo(
        f"accuracy {cal.accuracy(pred, y):.4f}  macro-F1 {cal.macro_f1(pred, y, len(labels)):.4f}  ECE {cal.ece(probs, y):.4f}"
    )
    for profile in ("scan", "webcam"):
        sel = np.array([r["profile"] == profile for r in recs])
        if sel.any():
            click.echo(
                f"  {profile:7s} accuracy {cal.accuracy(pred[sel], y[sel]):.4f} ({int(sel.sum())} pages)"
            )
    m = cal.confusion(pred, y, len(labels))
    click.echo(
        "per class (recall): "
        + ", ".join(f"{lab} {m[i, i] / max(1, m[i].sum()):.2f}" for i, lab in enumerate(labels))
    )
    if show_errors:
        for line in misclassified(recs, probs):
            click.echo("  " + line)
