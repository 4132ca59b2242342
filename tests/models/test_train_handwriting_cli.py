"""`signet models train-handwriting` whole, at toy scale: cached word crops in, an ONNX model out
with its metadata and a threshold chosen on validation, tracked in MLflow with a draft card."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

pytest.importorskip("torch", reason="training needs torch (train extra)")


def _crops(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Word crops as the data module caches them (written directly, no Tesseract here): label 1
    a slanted wavy stroke, label 0 upright bars, so the command's path is what is tested."""
    x = np.zeros((n, 32, 128), np.uint8)
    y = (np.arange(n) % 4 == 0).astype(np.uint8)
    y[1] = 2  # one word in a signature's box: left out
    for i in range(n):
        if y[i] == 1:
            xs = np.arange(10, 110)
            ys = (16 + 8 * np.sin(xs / 6 + rng.uniform(0, 6))).astype(int)
            x[i, ys, xs] = 255
            x[i, np.clip(ys + 1, 0, 31), xs] = 255
        else:
            for c in range(10, 100, 12):
                x[i, 8:24, c : c + 3] = 255
    return {"x": x, "y": y, "page": np.zeros(n, int), "text": np.array(["w"] * n)}


def test_given_cached_crops_when_training_from_the_cli_then_an_onnx_model_with_its_threshold_comes_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlflow.tracking import MlflowClient

    from edge.read.hand import HandwritingModel
    from models.cli import models as models_cli

    rng = np.random.default_rng(0)
    cache = tmp_path / "var" / "hand"
    cache.mkdir(parents=True)
    np.savez_compressed(cache / "train_8.npz", **_crops(160, rng))
    np.savez_compressed(cache / "val_4.npz", **_crops(40, rng))
    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    out = tmp_path / "hand.onnx"
    res = CliRunner().invoke(
        models_cli,
        [
            "train-handwriting", "--train-pages", "8", "--val-pages", "4", "--epochs", "3",
            "--tracking-uri", uri, "--out", str(out), "--version", "0.0.1",
        ],
    )  # fmt: skip
    assert res.exit_code == 0, res.output[-3000:] + repr(res.exception)
    summary = json.loads(res.output[res.output.index("{") :])
    assert summary["auc"] > 0.9  # the two shapes are easy to tell apart
    model = HandwritingModel(out)
    assert model.info.version == "0.0.1" and model.info.threshold == summary["threshold"]
    client = MlflowClient(tracking_uri=uri)
    run = client.get_run(summary["run_id"])
    assert run.data.params["train_words"] == "159" and "threshold" in run.data.metrics
    files = {Path(f.path).name for f in client.list_artifacts(summary["run_id"], "onnx")}
    assert {"hand.onnx", "hand.draft.md"} <= files
    # registered as a candidate of its own kind, with golden crops the device self-tests against
    mv = client.get_model_version("signet-handwriting", summary["registered_version"])
    assert mv.tags["kind"] == "handwriting" and mv.tags["golden_source"] == "given"
    assert client.get_model_version_by_alias("signet-handwriting", "candidate").version == mv.version
    from edge.rollout import self_test

    assert "golden" in self_test(out, out.with_name("hand.golden.npz"))
