"""Export round trip on a tiny model: export, check, reload with metadata, infer, compare."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="export needs torch (train extra)")
onnx = pytest.importorskip("onnx", reason="export needs onnx (train extra)")

from edge.config import DetectorConfig  # noqa: E402
from edge.detect import load_detector  # noqa: E402
from edge.detect.meta import BadModelMetadata, ModelMeta  # noqa: E402
from edge.detect.onnx_backend import read_meta  # noqa: E402
from edge.detect.postprocess import decode  # noqa: E402
from edge.detect.preprocess import preprocess  # noqa: E402
from export.onnx_export import ExportMismatch, compare_with_torch, export_onnx, to_fp16  # noqa: E402
from models.detector.model import ModelSpec, SignatureNet  # noqa: E402

META = ModelMeta(
    name="tiny",
    version="9.9.9",
    input_size=96,
    score_threshold=0.2,
    training_run_id="run-x",
    dataset_hash="abc123",
)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[SignatureNet, Path]:
    torch.manual_seed(3)
    model = SignatureNet(ModelSpec(input_size=96, width=0.25)).eval()
    with torch.no_grad():
        model.hm.bias.fill_(0.0)
    path = tmp_path_factory.mktemp("exp") / "tiny.onnx"
    export_onnx(model, META, path)
    return model, path


def test_given_exported_model_then_checker_passes_with_static_shapes_and_standard_ops(
    tiny: tuple[SignatureNet, Path],
) -> None:
    _, path = tiny
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto, full_check=True)
    assert proto.opset_import[0].version >= 13
    dims = [d.dim_value for d in proto.graph.input[0].type.tensor_type.shape.dim]
    assert dims == [1, 3, 96, 96]
    assert {n.domain for n in proto.graph.node} <= {"", "ai.onnx"}  # no custom ops/plugins


def test_given_exported_model_then_metadata_round_trips(tiny: tuple[SignatureNet, Path]) -> None:
    _, path = tiny
    assert read_meta(path) == META
    props = {p.key for p in onnx.load(str(path)).metadata_props}
    for key in (
        "input_size",
        "class_names",
        "mean",
        "std",
        "score_threshold",
        "name",
        "version",
        "training_run_id",
        "dataset_hash",
    ):
        assert f"signet.{key}" in props


def test_given_a_page_when_run_by_the_edge_backend_then_same_detections_as_pytorch(
    tiny: tuple[SignatureNet, Path],
) -> None:
    model, path = tiny
    img = np.full((150, 110, 3), 255, np.uint8)
    img[60:80, 20:90] = 0
    det = load_detector(DetectorConfig(model=path, threads=1))
    got = det.detect(img)
    tensor, lb = preprocess(img, 96)
    with torch.no_grad():
        hm, lt = (t.numpy() for t in model(torch.from_numpy(tensor)))
    boxes, scores = decode(hm, lt, lb, 8, META.score_threshold)
    assert len(got) == len(boxes) > 0
    assert np.allclose([d.box for d in got], boxes, atol=1e-4)
    assert np.allclose([d.score for d in got], scores, atol=1e-4)


def test_given_fp16_variant_then_close_to_pytorch_and_runs_on_the_edge(
    tiny: tuple[SignatureNet, Path], tmp_path: Path
) -> None:
    model, path = tiny
    half = tmp_path / "tiny.fp16.onnx"
    to_fp16(path, half)
    diffs = compare_with_torch(model, half, META, 2e-2, 1.0)
    assert diffs["heatmap"] > 0  # really half precision, not a copy
    assert half.stat().st_size < path.stat().st_size * 0.7
    assert isinstance(
        load_detector(DetectorConfig(model=half, threads=1)).detect(np.zeros((50, 50, 3), np.uint8)), list
    )


def test_given_a_different_model_then_comparison_fails_loudly(tiny: tuple[SignatureNet, Path]) -> None:
    _, path = tiny
    other = SignatureNet(ModelSpec(input_size=96, width=0.25)).eval()
    with pytest.raises(ExportMismatch, match="differs from PyTorch"):
        compare_with_torch(other, path, META, 1e-4, 1e-2)


def test_given_onnx_without_signet_metadata_then_clear_error(
    tiny: tuple[SignatureNet, Path], tmp_path: Path
) -> None:
    _, path = tiny
    proto = onnx.load(str(path))
    del proto.metadata_props[:]
    bare = tmp_path / "bare.onnx"
    onnx.save(proto, str(bare))
    with pytest.raises(BadModelMetadata, match="not a Signet detector"):
        load_detector(DetectorConfig(model=bare))
