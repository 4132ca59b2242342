"""Train the signature detector on a lent GPU machine, where PyTorch is installed but MLflow is not.

The machine starts bare and nothing larger than a few tens of MB travels to it, so the corpus is
generated there (the same seeds give the same pages as here), then trained with CUDA, keeping the
checkpoints; MLflow tracking, the threshold, the export and registration happen back here with::

    signet models train-detector --from-checkpoint RUN/best.pt --val-dir var/detector/data/val \\
        --out var/detector/runs/NAME --version X.Y.Z

Run from the repository root (``PYTHONPATH=.``)::

    python3 scripts/train_detector_gpu.py --out /tmp/run --pages 10000 --epochs 40 \\
        --init-from models/artifacts/detector.onnx

It prints one line per stage with its wall time, and writes ``history.json`` beside the
checkpoints.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
from pathlib import Path


def corpus(folder: Path, pages: int, seed: int, workers: int, minutes: float) -> int:
    """Generate up to ``pages`` pages into ``folder``, stopping after ``minutes`` (0: never);
    returns how many pages were kept. Pages finished out of order after the stop are removed, so
    the folder holds exactly pages 0..n-1 of the seed."""
    from models.corpus.writer import generate, iter_rows

    if not minutes:
        generate(folder, pages, seed, "mixed", "mixed", workers)
        return pages
    t0, kept = time.monotonic(), set()
    rows = iter_rows(folder, pages, seed, "mixed", "mixed", workers)
    for row in rows:
        kept.add(Path(row["image"]).stem)
        if time.monotonic() - t0 > minutes * 60:
            break
    rows.close()  # terminates the pool
    for sub in ("images", "labels", "meta"):
        for f in (folder / sub).iterdir():
            if f.stem not in kept:
                f.unlink()
    return len(kept)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, required=True, help="Run folder (checkpoints, history.json).")
    ap.add_argument("--data", type=Path, default=Path("var/detector/data"), help="Where the corpus goes.")
    ap.add_argument("--pages", type=int, default=10000, help="Training pages (seed --seed).")
    ap.add_argument("--seed", type=int, default=1000, help="Corpus seed of the training pages.")
    ap.add_argument("--val-pages", type=int, default=300, help="Validation pages (seed 2000).")
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--crop", type=int, default=384)
    ap.add_argument("--lr", type=float, default=7e-4)
    ap.add_argument("--warmup-steps", type=int, default=300)
    ap.add_argument("--train-seed", type=int, default=1234)
    ap.add_argument("--init-from", default="", help="Exported detector ONNX to start from.")
    ap.add_argument("--workers", type=int, default=max(1, (os.cpu_count() or 2) - 2))
    ap.add_argument(
        "--corpus-minutes",
        type=float,
        default=0.0,
        help="Stop generating training pages after this long and train on the first ones made "
        "(the same seed makes page i the same page in every size; 0: all --pages).",
    )
    ap.add_argument(
        "--deadline-minutes",
        type=float,
        default=0.0,
        help="Wall-clock budget of the whole script, corpus included: training stops after the "
        "epoch that passes it (0: none). Checkpoints are written after every epoch.",
    )
    ap.add_argument("--device", default="cuda")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

    import torch

    from models.detector.train import TrainConfig, train

    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("no CUDA GPU visible to PyTorch")
    start = time.monotonic()
    cores = os.cpu_count() or 1
    train_dir, val_dir = args.data / f"train{args.pages}", args.data / "val"
    for folder, pages, seed, budget in (
        (val_dir, args.val_pages, 2000, 0.0),
        (train_dir, args.pages, args.seed, args.corpus_minutes),
    ):
        t0 = time.monotonic()
        made = pages if (folder / "manifest.jsonl").is_file() else corpus(folder, pages, seed, cores, budget)
        print(
            f"corpus {folder}: {made} pages in {time.monotonic() - t0:.0f} s ({cores} processes)", flush=True
        )
    cfg = TrainConfig(
        train_dir=str(train_dir),
        val_dir=str(val_dir),
        out_dir=str(args.out),
        crop=args.crop,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        warmup_steps=args.warmup_steps,
        seed=args.train_seed,
        device=args.device,
        threads=min(4, cores),
        workers=args.workers,
        max_minutes=max(0.5, args.deadline_minutes - (time.monotonic() - start) / 60)
        if args.deadline_minutes
        else 0.0,
        init_from=args.init_from,
    )
    t0 = time.monotonic()
    last = args.out / "last.pt"
    summary = train(cfg, resume=last if last.is_file() else None, progress=False)
    print(
        f"trained {len(summary['history'])} epochs in {time.monotonic() - t0:.0f} s; best {summary['best']}"
    )
    (args.out / "history.json").write_text(json.dumps(summary, indent=1, default=float))


if __name__ == "__main__":
    main()
