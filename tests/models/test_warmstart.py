"""Warm start from an exported detector: the unfolded network equals the file, and a file of
another architecture is refused whole."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="training needs torch (train extra)")
pytest.importorskip("onnx", reason="export needs onnx (train extra)")

from edge.detect.meta import ModelMeta  # noqa: E402
from export.onnx_export import export_onnx  # noqa: E402
from models.detector.model import ModelSpec, SignatureNet  # noqa: E402
from models.detector.warmstart import IncompatibleModel, init_from_onnx  # noqa: E402

META = ModelMeta(name="tiny", version="1.0.0", input_size=96, score_threshold=0.3)


def _trained_like(width: float, seed: int) -> SignatureNet:
    """A tiny network whose BatchNorms hold non-trivial statistics and affine parameters."""
    torch.manual_seed(seed)
    m = SignatureNet(ModelSpec(input_size=96, width=width))
    with torch.no_grad():
        for bn in (x for x in m.modules() if isinstance(x, torch.nn.BatchNorm2d)):
            bn.running_mean.uniform_(-0.5, 0.5)
            bn.running_var.uniform_(0.5, 2.0)
            bn.weight.uniform_(-1.5, 1.5)  # negative scales too
            bn.bias.uniform_(-0.3, 0.3)
    return m.eval()


def test_given_exported_model_when_warm_started_then_eval_outputs_match_the_file(tmp_path: Path) -> None:
    src = _trained_like(0.25, seed=1)
    path = tmp_path / "src.onnx"
    export_onnx(src, META, path)
    fresh = SignatureNet(ModelSpec(input_size=96, width=0.25))
    samples = torch.randn(8, 3, 96, 96)
    assert init_from_onnx(fresh, path, samples) == sum(
        isinstance(m, torch.nn.Conv2d) for m in fresh.modules()
    )
    x = torch.randn(2, 3, 96, 96)
    with torch.no_grad():
        hm0, lt0 = src(x)
        fresh.eval()
        hm1, lt1 = fresh(x)
    np.testing.assert_allclose(hm1.numpy(), hm0.numpy(), atol=1e-4)
    np.testing.assert_allclose(lt1.numpy(), lt0.numpy(), atol=1e-2)
    # In train mode on the calibration batch the batch statistics are the measured ones.
    fresh.train()
    with torch.no_grad():
        hm2, _ = fresh(samples)
        hm3, _ = src(samples)
    np.testing.assert_allclose(hm2.numpy(), hm3.numpy(), atol=1e-3)


def test_given_onnx_of_another_width_when_warm_started_then_refused(tmp_path: Path) -> None:
    path = tmp_path / "wide.onnx"
    export_onnx(_trained_like(0.5, seed=2), META, path)
    fresh = SignatureNet(ModelSpec(input_size=96, width=0.25))
    before = {k: v.clone() for k, v in fresh.state_dict().items()}
    with pytest.raises(IncompatibleModel, match="convolution 0"):
        init_from_onnx(fresh, path, torch.randn(2, 3, 96, 96))
    assert all(torch.equal(before[k], v) for k, v in fresh.state_dict().items())
