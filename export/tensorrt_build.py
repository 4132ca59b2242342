"""``signet export tensorrt``: a TensorRT engine from the detector ONNX, FP16 or INT8.

Thin on purpose: the building itself is ``edge.detect.trt_engine.build_engine`` (the device uses
the same code to build its engine on first start), the framing and cache names are
``edge.detect.engine_file``. This command adds the INT8 calibration data: corpus pages rendered
with ``models.corpus`` (never the real validation pages), preprocessed by the edge letterbox and
fed in fixed batches by an entropy calibrator whose cache is written beside the engine and
reused by later builds (and by devices) for the same model and TensorRT version.

TensorRT runs only where an NVIDIA GPU and JetPack (or the TensorRT wheel) are present; here the
command fails with ``backend unavailable: ...`` naming what is missing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import click
import numpy as np

from edge.detect.engine_file import cache_key, calibration_cache_key, file_sha256, pack_engine
from edge.detect.meta import ModelMeta

log = logging.getLogger(__name__)


def corpus_images(pages: int, seed: int = 5000) -> Iterator[np.ndarray]:
    """Calibration pages from the synthetic corpus: both capture profiles, both languages."""
    from models.corpus import generate_page

    combos = [("scan", "en"), ("webcam", "en"), ("scan", "fr"), ("webcam", "fr")]
    for i in range(pages):
        profile, lang = combos[i % len(combos)]
        yield generate_page(seed + i, profile, lang).image


def engine_paths(
    onnx_path: Path, meta: ModelMeta, trt_version: str, precision: str, out_dir: Path
) -> tuple[Path, Path]:
    """(engine file, calibration cache) for a model file, TensorRT version and precision."""
    sha = file_sha256(onnx_path)
    return (
        out_dir / cache_key(meta.name, meta.version, sha, trt_version, precision),
        out_dir / calibration_cache_key(meta.name, meta.version, sha, trt_version),
    )


@click.command("tensorrt")
@click.option(
    "--onnx",
    "onnx_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=Path("models/artifacts/detector.onnx"),
    show_default=True,
)
@click.option("--precision", type=click.Choice(["fp32", "fp16", "int8"]), default="fp16", show_default=True)
@click.option(
    "--out-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("var/engines"),
    show_default=True,
    help="Where engines and calibration caches go (the edge's engine_cache).",
)
@click.option(
    "--workspace-mb", default=256, show_default=True, help="Builder workspace limit (fits a 4 GB Nano)."
)
@click.option("--calib-pages", default=256, show_default=True, help="INT8: corpus pages to calibrate on.")
@click.option("--calib-batch", default=8, show_default=True, help="INT8: calibration batch size.")
def tensorrt_cmd(
    onnx_path: Path, precision: str, out_dir: Path, workspace_mb: int, calib_pages: int, calib_batch: int
) -> None:
    """Build a TensorRT engine (with the model metadata in its header) from the ONNX detector."""
    from edge.detect import BackendUnavailable
    from edge.detect.onnx_backend import read_meta
    from edge.detect.tensorrt_backend import import_runtime
    from edge.detect.trt_engine import (
        CalibrationBatches,
        CalibrationCache,
        build_engine,
        make_entropy_calibrator,
    )

    try:
        trt, _cuda = import_runtime()
    except BackendUnavailable as exc:
        raise click.ClickException(str(exc)) from exc
    import pycuda.autoinit  # noqa: F401  (a CUDA context for the calibrator's device buffers)

    meta = read_meta(onnx_path)
    engine_path, calib_path = engine_paths(onnx_path, meta, trt.__version__, precision, out_dir)
    calibrator = None
    if precision == "int8":
        cache = CalibrationCache(calib_path)
        batches = (
            None
            if cache.read() is not None
            else CalibrationBatches(corpus_images(calib_pages), meta, calib_batch)
        )
        calibrator = make_entropy_calibrator(trt, batches, cache)
    engine = build_engine(trt, onnx_path, precision, workspace_mb << 20, calibrator)
    header = {
        "meta": meta.to_props(),
        "model_sha256": file_sha256(onnx_path),
        "trt": trt.__version__,
        "precision": precision,
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    engine_path.write_bytes(pack_engine(header, engine))
    click.echo(
        f"wrote {engine_path} ({engine_path.stat().st_size / 1e6:.1f} MB, TensorRT {trt.__version__}, {precision})"
    )
