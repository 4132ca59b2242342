"""``signet models train-handwriting``."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import click


@click.command("train-handwriting")
@click.option(
    "--train-pages", default=1000, show_default=True, help="Specs of the train split (half are scans)."
)
@click.option(
    "--val-pages", default=160, show_default=True, help="Specs of the val split, for the threshold."
)
@click.option("--epochs", default=8, show_default=True)
@click.option("--batch-size", default=128, show_default=True)
@click.option("--lr", default=2e-3, show_default=True)
@click.option("--seed", default=7, show_default=True)
@click.option(
    "--precision",
    default=0.9,
    show_default=True,
    help="Share of the words called handwritten that must be, on validation, at the threshold chosen.",
)
@click.option("--threads", default=2, show_default=True, help="Torch CPU threads.")
@click.option("--version", "version", default="1.0.0", show_default=True)
@click.option(
    "--out", type=click.Path(path_type=Path), default=Path("var/hand/handwriting.onnx"), show_default=True
)
@click.option(
    "--tracking-uri", default=None, help="MLflow tracking URI (default: offline SQLite under var/)."
)
def train_handwriting(
    train_pages: int,
    val_pages: int,
    epochs: int,
    batch_size: int,
    lr: float,
    seed: int,
    precision: float,
    threads: int,
    version: str,
    out: Path,
    tracking_uri: str | None,
) -> None:
    """Train the handwriting word model on corpus scans and export it to ONNX (copy it to
    models/artifacts/handwriting.onnx to ship it)."""
    from models.hand.train import HandParams, train

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    params = HandParams(
        train_pages=train_pages,
        val_pages=val_pages,
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        seed=seed,
        precision=precision,
        threads=threads,
        version=version,
    )
    result = train(params, out, tracking_uri=tracking_uri)
    click.echo(
        json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in result.items()}, indent=2)
    )
