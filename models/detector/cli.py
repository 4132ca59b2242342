"""``signet models train-detector`` and ``signet models eval-detector``."""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import asdict, fields
from pathlib import Path

import click

from models.lifecycle import mix_options

log = logging.getLogger(__name__)

MODEL_NAME = "signet-detector"
REAL_PAGES = Path("../shared/data/signatures")


@click.command("train-detector")
@click.option(
    "--train-dir", default="var/detector/data/train", show_default=True, help="Corpus folder to train on."
)
@click.option(
    "--val-dir",
    default="var/detector/data/val",
    show_default=True,
    help="Corpus folder for validation and the threshold.",
)
@click.option(
    "--out",
    "out_dir",
    default="var/detector/runs/default",
    show_default=True,
    help="Run folder (checkpoints, ONNX).",
)
@click.option("--epochs", default=12, show_default=True)
@click.option("--batch-size", default=16, show_default=True)
@click.option("--crop", default=384, show_default=True, help="Training crop size (the model runs at 640).")
@click.option("--lr", default=3e-3, show_default=True)
@click.option("--warmup-steps", default=30, show_default=True, help="Linear learning-rate warm-up steps.")
@click.option("--seed", default=1234, show_default=True)
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True)
@click.option("--threads", default=2, show_default=True, help="CPU threads for PyTorch.")
@click.option("--workers", default=1, show_default=True, help="Data loader processes.")
@click.option(
    "--max-minutes", default=0.0, show_default=True, help="Stop after the epoch that passes this (0: none)."
)
@click.option(
    "--resume",
    "resume",
    type=click.Path(path_type=Path),
    default=None,
    help="Checkpoint to resume from (e.g. <out>/last.pt).",
)
@mix_options
@click.option(
    "--init-from",
    "init_from",
    default="",
    help="Start from an exported detector ONNX (e.g. the production model) instead of from scratch.",
)
@click.option(
    "--version", "version", default="1.0.0", show_default=True, help="Model version stamped in the ONNX."
)
@click.option(
    "--tracking-uri", default=None, help="MLflow tracking URI (default: offline SQLite under var/mlflow)."
)
@click.option(
    "--from-checkpoint",
    "from_checkpoint",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Skip training: pick the threshold, export and register a checkpoint trained elsewhere "
    "(scripts/train_detector_gpu.py on a GPU machine without MLflow); its recorded config and "
    "epochs are logged.",
)
@click.option(
    "--ship/--no-ship",
    default=False,
    show_default=True,
    help="Copy the ONNX to models/artifacts/detector.onnx.",
)
def train_detector(**opts: object) -> None:
    """Train the signature detector on the synthetic corpus, export it and register it in MLflow."""
    import torch

    from edge.detect.meta import ModelMeta
    from export.onnx_export import export_onnx
    from models.detector.dataset import CanvasCache, scan_folder
    from models.detector.metrics import PagePred, best_threshold, box_metrics
    from models.detector.model import STRIDE, count_flops, count_params
    from models.detector.plots import pr_curve_image, prediction_grid
    from models.detector.train import TrainConfig, build_model, predict_canvases, train
    from models.tracking import tracked_run

    known = {f.name for f in fields(TrainConfig)}
    cfg = TrainConfig(**{k: v for k, v in opts.items() if k in known})  # type: ignore[arg-type]
    trained = None
    if opts["from_checkpoint"] is not None:
        trained = torch.load(str(opts["from_checkpoint"]), map_location="cpu", weights_only=False)
        recorded = {k: v for k, v in trained.get("config", {}).items() if k in known}
        recorded["mix"] = tuple(recorded.get("mix", ()))
        # what it was trained with, validated and exported here (on the CPU)
        cfg = TrainConfig(**{**recorded, "val_dir": cfg.val_dir, "out_dir": cfg.out_dir, "device": "cpu"})
    if cfg.device == "cuda" and not torch.cuda.is_available():
        raise click.ClickException("--device cuda but PyTorch sees no CUDA GPU")
    model = build_model(cfg)
    params = {
        **asdict(cfg),
        "params": count_params(model),
        "gflops": round(count_flops(model, cfg.input_size) / 1e9, 3),
    }
    with tracked_run(
        "detector", params, tracking_uri=opts["tracking_uri"], run_name=Path(cfg.out_dir).name
    ) as t:  # type: ignore[arg-type]
        if trained is None:
            summary = train(cfg, resume=opts["resume"], on_epoch=lambda e, row: t.metrics(row, step=e))  # type: ignore[arg-type]
        else:
            Path(cfg.out_dir).mkdir(parents=True, exist_ok=True)
            for row in trained.get("history", []):
                t.metrics(row, step=int(row["epoch"]))
            summary = {
                "best_checkpoint": str(opts["from_checkpoint"]),
                "dataset_hash": trained["dataset_hash"],
            }
        ck = (
            trained
            if trained is not None
            else torch.load(summary["best_checkpoint"], map_location="cpu", weights_only=False)
        )
        model.load_state_dict(ck["ema"])
        val = CanvasCache(scan_folder(Path(cfg.val_dir)), cfg.input_size, Path("var/detector/cache"))
        preds = predict_canvases(model, val.images, "cpu")
        pages = [PagePred(b, s, gt / val.size) for (b, s), gt in zip(preds, val.boxes, strict=False)]
        threshold, f1 = best_threshold(pages)
        final = box_metrics(pages, threshold)
        click.echo(
            f"validation: threshold {threshold:.3f} (max F1 {f1:.3f}); "
            + json.dumps({k: round(float(v), 4) for k, v in final.items()})
        )
        t.metrics({f"final_val_{k}": float(v) for k, v in final.items()} | {"threshold": threshold})
        t.image(pr_curve_image(pages, threshold), "pr_curve.png")
        t.image(prediction_grid(val.images[:12], pages[:12], threshold), "val_predictions.png")
        t.validation_distribution(
            confidences=[float(s) for p in pages for s in p.scores if s >= threshold],
            signature_counts=[int((p.scores >= threshold).sum()) for p in pages],
        )
        meta = ModelMeta(
            name=MODEL_NAME,
            version=str(opts["version"]),
            input_size=cfg.input_size,
            stride=STRIDE,
            score_threshold=threshold,
            training_run_id=t.run_id,
            dataset_hash=summary["dataset_hash"],
            extra={"best_epoch": int(ck["epoch"]) + 1, "seed": cfg.seed},
        )
        onnx_path = Path(cfg.out_dir) / "detector.onnx"
        diffs = export_onnx(model, meta, onnx_path)
        click.echo(f"exported {onnx_path} ({onnx_path.stat().st_size / 1e6:.2f} MB), ORT vs PyTorch {diffs}")
        ck["meta"] = {k: v for k, v in asdict(meta).items()}
        torch.save(ck, Path(cfg.out_dir) / "best.pt")
        _write_golden(onnx_path, val.images[:2], meta)
        from models.cards import draft_card

        card = draft_card(
            Path(cfg.out_dir) / "detector.md",
            name=MODEL_NAME,
            version=str(opts["version"]),
            kind="signature detector",
            run_id=t.run_id,
            params={**params, "threshold": round(threshold, 4)},
            metrics={f"val_{k}": float(v) for k, v in final.items()},
            data=(
                f"Train: {cfg.train_dir}"
                + (f" + {', '.join(cfg.mix)} (x{cfg.mix_repeat})" if cfg.mix else "")
                + f"; validation: {cfg.val_dir}; dataset hash `{summary['dataset_hash']}`"
                + (f"; warm start from `{cfg.init_from}`" if cfg.init_from else "")
            ),
        )
        version = t.register_onnx(onnx_path, MODEL_NAME, card=card)
        click.echo(f"registered {MODEL_NAME} version {version} (run {t.run_id})")
        if opts["ship"]:
            Path("models/artifacts").mkdir(parents=True, exist_ok=True)
            shutil.copyfile(onnx_path, "models/artifacts/detector.onnx")
            click.echo("copied to models/artifacts/detector.onnx")


def _write_golden(onnx_path: Path, canvases: object, meta: object) -> None:
    """Golden pages beside the ONNX (``detector.golden.npz``) for the device's self-test on rollout."""
    import numpy as np

    from edge.detect.preprocess import normalise
    from edge.rollout import write_golden

    inputs = [{meta.input_name: normalise(np.asarray(c))} for c in canvases]  # type: ignore[attr-defined]
    write_golden(onnx_path.with_name(onnx_path.stem + ".golden.npz"), onnx_path, inputs, atol=1e-3, rtol=1e-3)


@click.command("eval-detector")
@click.option(
    "--model",
    "model",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=Path("models/artifacts/detector.onnx"),
    show_default=True,
)
@click.option(
    "--data",
    "data",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Page folders (corpus folder or images with YOLO .txt). Default: the synthetic test split and the real pages.",
)
@click.option("--threshold", type=float, default=None, help="Override the threshold stored in the model.")
@click.option("--threads", default=2, show_default=True)
@click.option(
    "--json",
    "json_out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write figures as JSON.",
)
def eval_detector(
    model: Path, data: tuple[Path, ...], threshold: float | None, threads: int, json_out: Path | None
) -> None:
    """Box-level, hard-negative and page-level figures of an ONNX detector on page folders."""
    from models.detector.evaluate import evaluate_folder, format_report, report_dict

    folders = list(data) or [Path("var/detector/data/test"), REAL_PAGES]
    results = []
    for folder in folders:
        if not folder.is_dir():
            click.echo(f"skipped {folder}: not a folder", err=True)
            continue
        rep = evaluate_folder(model, folder, threshold, threads)
        click.echo(format_report(rep) + "\n")
        results.append(report_dict(rep))
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(results, indent=2, default=float))
