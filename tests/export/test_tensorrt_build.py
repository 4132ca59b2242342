"""TensorRT engine building: the engine-free parts run here (header framing, cache keys,
calibration batching and cache reuse); building and running engines needs a Jetson."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edge.detect.engine_file import (
    BadEngineFile,
    cache_key,
    calibration_cache_key,
    pack_engine,
    unpack_engine,
)
from edge.detect.meta import ModelMeta
from edge.detect.trt_engine import NANO_WORKSPACE_BYTES, CalibrationBatches, CalibrationCache


def test_given_header_and_engine_when_framed_then_unpacked_identically() -> None:
    header = {"meta": ModelMeta().to_props(), "trt": "10.3.0", "precision": "fp16"}
    engine = bytes(range(256)) * 10
    got_header, got_engine = unpack_engine(pack_engine(header, engine))
    assert got_header == header and got_engine == engine
    assert ModelMeta.from_props(got_header["meta"]) == ModelMeta()


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"", "bad magic"),
        (b"NOTSIGNET" + b"\0" * 20, "bad magic"),
        (pack_engine({"a": 1}, b"x")[:14], "truncated"),
        (pack_engine({"a": 1}, b"x")[:-1], "no engine"),
    ],
)
def test_given_damaged_engine_file_then_clear_error(data: bytes, why: str) -> None:
    with pytest.raises(BadEngineFile, match=why):
        unpack_engine(data)


def test_cache_key_changes_with_model_version_content_trt_version_and_precision() -> None:
    base = cache_key("signet-detector", "1.0.0", "a" * 64, "8.5.2", "fp16")
    assert base.endswith(".engine") and "trt8.5.2" in base and "1.0.0" in base
    variants = {
        cache_key("signet-detector", "1.0.1", "a" * 64, "8.5.2", "fp16"),
        cache_key("signet-detector", "1.0.0", "b" * 64, "8.5.2", "fp16"),
        cache_key("signet-detector", "1.0.0", "a" * 64, "10.3.0", "fp16"),
        cache_key("signet-detector", "1.0.0", "a" * 64, "8.5.2", "int8"),
    }
    assert base not in variants and len(variants) == 4
    assert "/" not in cache_key("../evil", "1/2", "c" * 64, "10", "fp16")
    assert calibration_cache_key("m", "1", "a" * 64, "10.3.0") != calibration_cache_key(
        "m", "1", "a" * 64, "8.6.2"
    )


def test_given_pages_when_batched_for_calibration_then_fixed_size_contiguous_float_batches() -> None:
    meta = ModelMeta(input_size=64)
    pages = [np.full((100 + i, 80, 3), i, np.uint8) for i in range(10)]
    batches = list(CalibrationBatches(pages, meta, batch_size=4))
    assert len(batches) == 2  # the incomplete last batch is dropped
    for b in batches:
        assert b.shape == (4, 3, 64, 64) and b.dtype == np.float32 and b.flags["C_CONTIGUOUS"]
    assert batches[1][0].mean() != batches[0][0].mean()


def test_given_calibration_cache_written_then_read_back_and_reused(tmp_path: Path) -> None:
    cache = CalibrationCache(tmp_path / "sub" / "m.calib")
    assert cache.read() is None
    cache.write(b"TRT-8502-EntropyCalibration2\n")
    assert CalibrationCache(tmp_path / "sub" / "m.calib").read() == b"TRT-8502-EntropyCalibration2\n"


def test_workspace_fits_a_4gb_nano() -> None:
    assert NANO_WORKSPACE_BYTES <= 512 << 20


@pytest.mark.jetson
def test_given_tiny_onnx_when_built_fp16_then_engine_runs_and_matches_onnxruntime(tmp_path: Path) -> None:
    import tensorrt as trt

    from edge.config import DetectorConfig
    from edge.detect import load_detector
    from edge.detect.trt_engine import build_engine
    from export.onnx_export import export_onnx
    from models.detector.model import ModelSpec, SignatureNet

    model = SignatureNet(ModelSpec(input_size=128, width=0.25))
    onnx_path = tmp_path / "t.onnx"
    export_onnx(model, ModelMeta(input_size=128, score_threshold=0.01), onnx_path)
    assert build_engine(trt, onnx_path, "fp16")
    page = np.full((200, 150, 3), 255, np.uint8)
    ort_det = load_detector(DetectorConfig(model=onnx_path)).detect(page)
    trt_det = load_detector(
        DetectorConfig(backend="tensorrt", model=onnx_path, engine_cache=tmp_path)
    ).detect(page)
    assert len(trt_det) == len(ort_det)
    assert list(tmp_path.glob("*.engine"))  # cached for the next start
