"""Fixtures for detector tests: a tiny randomly initialised detector exported to ONNX once per
session (so the backend tests do not depend on the trained model), and the shipped model."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
SHIPPED = REPO / "models" / "artifacts" / "detector.onnx"


@pytest.fixture(scope="session")
def tiny_onnx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A width-0.25 SignatureNet at 128 px, exported with metadata; a low threshold so random
    weights still produce detections to check the contract on."""
    torch = pytest.importorskip("torch", reason="torch (train extra) is needed to make the tiny model")
    from edge.detect.meta import ModelMeta
    from export.onnx_export import export_onnx
    from models.detector.model import ModelSpec, SignatureNet

    torch.manual_seed(0)
    model = SignatureNet(ModelSpec(input_size=128, width=0.25))
    with torch.no_grad():
        model.hm.bias.fill_(0.0)  # scores around 0.5 so the random model detects something
    path = tmp_path_factory.mktemp("tiny") / "tiny.onnx"
    meta = ModelMeta(
        name="tiny-detector",
        version="0.0.1",
        input_size=128,
        score_threshold=0.3,
        training_run_id="test",
        dataset_hash="none",
    )
    export_onnx(model, meta, path)
    return path
