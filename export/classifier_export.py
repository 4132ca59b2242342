"""``signet export classifier``: the trained classifier to ONNX (FP32) and INT8 (dynamic
quantisation), with labels, temperature, maximum length, version and the tokenizer in the ONNX
metadata; the INT8 model is checked against FP32 on the held-out split before it is shipped.

The FP32 file (~35 MB) is written under var/ and not committed: this command regenerates it.
"""

from __future__ import annotations

import json
import logging
import shutil
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import click
import numpy as np

log = logging.getLogger(__name__)

CHECKPOINT = Path("var/classifier/model")
FP32_OUT = Path("var/classifier/classifier.fp32.onnx")
INT8_OUT = Path("models/artifacts/classifier.int8.onnx")
MAX_POINTS_LOST = 1.0  # INT8 accuracy may trail FP32 by at most one percentage point


def load_checkpoint(checkpoint: Path) -> tuple[dict[str, Any], Any]:
    """The trained checkpoint's meta.json and its network with the trained weights loaded."""
    import torch

    from models.classifier.model import rebuild

    meta = json.loads((checkpoint / "meta.json").read_text(encoding="utf-8"))
    config = json.loads((checkpoint / "config.json").read_text(encoding="utf-8"))
    model = rebuild(config, len(meta["labels"]))
    model.load_state_dict(torch.load(checkpoint / "weights.pt", map_location="cpu", weights_only=True))
    return meta, model


def export_fp32(checkpoint: Path, out: Path) -> dict[str, Any]:
    """Rebuild the network from the checkpoint and export it with dynamic batch and length."""
    import torch

    meta, model = load_checkpoint(checkpoint)
    model.eval()
    ids = torch.ones((2, 16), dtype=torch.long)
    mask = torch.ones((2, 16), dtype=torch.long)
    mask[1, 10:] = 0  # a padded row, so the traced graph keeps the attention mask
    out.parent.mkdir(parents=True, exist_ok=True)
    with torch.no_grad():
        torch.onnx.export(
            model,
            (ids, mask),
            str(out),
            input_names=["input_ids", "attention_mask"],
            output_names=["logits"],
            dynamic_axes={
                "input_ids": {0: "batch", 1: "tokens"},
                "attention_mask": {0: "batch", 1: "tokens"},
                "logits": {0: "batch"},
            },
            opset_version=17,
            dynamo=False,
        )
    return meta


def write_metadata(path: Path, meta: dict[str, Any], tokenizer_json: str, precision: str) -> None:
    """Store what the edge needs to run the model inside the ONNX file itself."""
    import onnx

    model = onnx.load(str(path))
    props = {
        "name": meta["name"],
        "version": meta["version"] + ("-int8" if precision == "int8" else ""),
        "labels": json.dumps(meta["labels"]),
        "temperature": f"{meta['temperature']:.6f}",
        "temperatures": json.dumps({k: round(float(v), 6) for k, v in meta.get("temperatures", {}).items()}),
        "max_length": str(meta["max_length"]),
        "precision": precision,
        "tokenizer_json": tokenizer_json,
        "exported_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    del model.metadata_props[:]
    for k, v in props.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = k, v
    onnx.save(model, str(path))


def quantise(fp32: Path, out: Path) -> None:
    """Dynamic INT8 quantisation of weights (MatMul/Gemm and the embedding Gather)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    out.parent.mkdir(parents=True, exist_ok=True)
    quantize_dynamic(str(fp32), str(out), weight_type=QuantType.QInt8, per_channel=False)


def evaluate(path: Path, split: str = "test") -> dict[str, float]:
    """Accuracy, macro-F1 and ECE of an ONNX classifier on a cached OCR split."""
    from edge.read.classify import DocClassifier
    from models.classifier import calibration as cal
    from models.classifier.data import load_cached

    recs = load_cached(split)
    if not recs:
        return {}
    clf = DocClassifier(path, threads=2)
    labels = list(clf.info.labels)
    probs = cal.calibrated(clf, recs)
    y = np.array([labels.index(r["doc_type"]) for r in recs])
    pred = probs.argmax(1)
    return {
        "pages": float(len(recs)),
        "accuracy": cal.accuracy(pred, y),
        "macro_f1": cal.macro_f1(pred, y, len(labels)),
        "ece": cal.ece(probs, y),
    }


def refit_temperatures(checkpoint: Path) -> dict[str, Any]:
    """Refit the temperatures of a trained checkpoint on the cached validation OCR (as training
    does at its end) and write them into its meta.json: for a calibration fix, without training
    again."""
    from tokenizers import Tokenizer

    from models.classifier import calibration as cal
    from models.classifier.data import load_cached
    from models.classifier.train import LABELS, fit_profile_temperatures, predict_logits

    meta, model = load_checkpoint(checkpoint)
    tokenizer = Tokenizer.from_str((checkpoint / "tokenizer.json").read_text(encoding="utf-8"))
    val = load_cached("val")
    if not val:
        raise click.ClickException(
            "no cached validation OCR: run `signet models train-classifier --ocr-only`"
        )
    logits = predict_logits(model, tokenizer, [r["text"] for r in val], meta["max_length"])
    y = np.array([LABELS.index(r["doc_type"]) for r in val])
    meta["temperature"] = cal.fit_temperature(logits, y)
    meta["temperatures"] = fit_profile_temperatures(
        logits, y, [r.get("profile", "") for r in val], pooled=meta["temperature"]
    )
    (checkpoint / "meta.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
    return meta


@click.command("classifier")
@click.option("--checkpoint", type=click.Path(path_type=Path), default=CHECKPOINT, show_default=True)
@click.option("--fp32", "fp32_out", type=click.Path(path_type=Path), default=FP32_OUT, show_default=True)
@click.option("--out", "int8_out", type=click.Path(path_type=Path), default=INT8_OUT, show_default=True)
@click.option(
    "--register/--no-register", default=True, show_default=True, help="Register the INT8 model in MLflow."
)
@click.option(
    "--tracking-uri", default=None, help="MLflow tracking URI (default: offline SQLite under var/)."
)
@click.option(
    "--recalibrate",
    is_flag=True,
    help="Refit the temperatures on the cached validation OCR before exporting.",
)
def classifier_cmd(
    checkpoint: Path,
    fp32_out: Path,
    int8_out: Path,
    register: bool,
    tracking_uri: str | None,
    recalibrate: bool,
) -> None:
    """Export the classifier to ONNX FP32 + INT8 and check INT8 against FP32."""
    if not (checkpoint / "weights.pt").is_file():
        raise click.ClickException(
            f"no trained classifier in {checkpoint}: run `signet models train-classifier`"
        )
    if recalibrate:
        m = refit_temperatures(checkpoint)
        temps = ", ".join(f"{k} {v:.3f}" for k, v in m["temperatures"].items())
        click.echo(f"recalibrated: T={m['temperature']:.3f} ({temps})")
    meta = export_fp32(checkpoint, fp32_out)
    tokenizer_json = (checkpoint / "tokenizer.json").read_text(encoding="utf-8")
    write_metadata(fp32_out, meta, tokenizer_json, "fp32")
    quantise(fp32_out, int8_out)
    write_metadata(int8_out, meta, tokenizer_json, "int8")
    tok_out = int8_out.with_name("classifier.tokenizer.json")
    shutil.copyfile(checkpoint / "tokenizer.json", tok_out)
    s32, s8 = evaluate(fp32_out), evaluate(int8_out)
    mb = {p.name: p.stat().st_size / 1e6 for p in (fp32_out, int8_out, tok_out)}
    click.echo("sizes: " + ", ".join(f"{k} {v:.1f} MB" for k, v in mb.items()))
    if s32:
        click.echo(
            f"FP32: accuracy {s32['accuracy']:.4f} macro-F1 {s32['macro_f1']:.4f} ECE {s32['ece']:.4f} on {int(s32['pages'])} test pages"
        )
        click.echo(f"INT8: accuracy {s8['accuracy']:.4f} macro-F1 {s8['macro_f1']:.4f} ECE {s8['ece']:.4f}")
        lost = (s32["accuracy"] - s8["accuracy"]) * 100
        verdict = "ok" if lost <= MAX_POINTS_LOST else "FAILED"
        click.echo(f"INT8 vs FP32: {lost:+.2f} points lost (limit {MAX_POINTS_LOST:.0f}) {verdict}")
        if lost > MAX_POINTS_LOST:
            raise click.ClickException("INT8 model loses more than one point of accuracy; not shipping it")
    if int8_out.stat().st_size > 15_000_000:
        raise click.ClickException(
            f"{int8_out} is {mb[int8_out.name]:.1f} MB: over the 15 MB limit for tracked files"
        )
    if register:
        from models.tracking import tracked_run

        card = int8_out.with_name("classifier.md")
        with tracked_run(
            "classifier-export",
            params={"checkpoint": str(checkpoint), "version": meta["version"]},
            tracking_uri=tracking_uri,
        ) as t:
            t.metrics({f"fp32_{k}": v for k, v in s32.items()} | {f"int8_{k}": v for k, v in s8.items()})
            version = t.register_onnx(
                int8_out,
                "signet-classifier",
                card=card if card.is_file() else None,
                kind="classifier",
                extra_files=[tok_out],
            )
        click.echo(f"registered signet-classifier version {version} (alias candidate)")
