"""``signet data generate|preview|samples``: the corpus from the command line."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import click

log = logging.getLogger(__name__)


@click.command("generate")
@click.option(
    "--out", type=click.Path(file_okay=False, path_type=Path), required=True, help="Output directory."
)
@click.option("--pages", type=click.IntRange(min=1), default=200, show_default=True, help="Number of pages.")
@click.option(
    "--seed", type=int, default=1000, show_default=True, help="Run seed (train 1000, val 2000, test 3000)."
)
@click.option("--profile", type=click.Choice(["scan", "webcam", "mixed"]), default="mixed", show_default=True)
@click.option("--lang", type=click.Choice(["en", "fr", "mixed"]), default="mixed", show_default=True)
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Processes (default: all cores).")
@click.option(
    "--dpi",
    type=click.IntRange(min=50, max=600),
    default=None,
    help="Force one render dpi (default: varied).",
)
def generate(
    out: Path, pages: int, seed: int, profile: str, lang: str, workers: int | None, dpi: int | None
) -> None:
    """Generate synthetic pages with signature labels and full ground truth."""
    from models.corpus.writer import generate as run

    t0 = time.perf_counter()
    run(out, pages, seed, profile, lang, workers, dpi=dpi)
    dt = time.perf_counter() - t0
    click.echo(f"{pages} pages -> {out} in {dt:.1f}s ({pages / dt:.2f} pages/s)")


@click.command("preview")
@click.argument("corpus", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), default=Path("sheet.png"), show_default=True
)
@click.option(
    "--limit", type=click.IntRange(min=1), default=40, show_default=True, help="Pages on the sheet."
)
def preview(corpus: Path, out: Path, limit: int) -> None:
    """Draw a contact sheet: signatures green, hard negatives red with their kind."""
    from models.corpus.preview import contact_sheet

    try:
        contact_sheet(corpus, out, limit=limit)
    except FileNotFoundError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"wrote {out} ({out.stat().st_size // 1024} KB)")


@click.command("samples")
@click.option(
    "--out", type=click.Path(file_okay=False, path_type=Path), default=Path("samples"), show_default=True
)
@click.option("--seed", type=int, default=7, show_default=True)
def samples(out: Path, seed: int) -> None:
    """Build the small committed sample set: pages, two PDFs and a short webcam video."""
    from models.corpus.samples import build_samples

    total = build_samples(out, seed)
    click.echo(f"wrote samples to {out} ({total / 1e6:.1f} MB)")
