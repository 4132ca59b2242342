"""`signet models train-detector` whole, at toy scale: corpus pages plus a mixed-in labelled
folder, a warm start from an exported ONNX, export with metadata, golden pages, and a version
registered in MLflow with its (draft) model card."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

torch = pytest.importorskip("torch", reason="training needs torch (train extra)")

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "models" / "artifacts" / "detector.onnx"


@pytest.mark.skipif(not SHIPPED.is_file(), reason="no shipped detector to warm-start from")
def test_given_a_toy_corpus_when_training_from_the_cli_then_a_carded_version_is_registered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlflow.tracking import MlflowClient

    from models.cli import models as models_cli
    from models.corpus.writer import generate

    generate(tmp_path / "train", pages=6, seed=11, profile="scan", lang="en", workers=1)
    generate(tmp_path / "val", pages=3, seed=12, profile="scan", lang="en", workers=1)
    mixed = tmp_path / "reviews"
    shutil.copytree(tmp_path / "val", mixed)  # stands in for `signet models dataset --from-reviews`
    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    res = CliRunner().invoke(
        models_cli,
        [
            "train-detector", "--train-dir", "train", "--val-dir", "val", "--out", "run",
            "--epochs", "1", "--batch-size", "4", "--crop", "128", "--workers", "0",
            "--mix", str(mixed), "--mix-repeat", "2", "--init-from", str(SHIPPED),
            "--version", "0.0.1-toy", "--tracking-uri", uri,
        ],
    )  # fmt: skip
    assert res.exit_code == 0, res.output + repr(res.exception)
    assert "registered signet-detector version 1" in res.output
    onnx_path = tmp_path / "run" / "detector.onnx"
    assert onnx_path.is_file() and (tmp_path / "run" / "detector.golden.npz").is_file()
    import onnx

    props = {p.key: p.value for p in onnx.load(str(onnx_path)).metadata_props}
    assert json.loads(props["signet.version"]) == "0.0.1-toy"
    card = (tmp_path / "run" / "detector.md").read_text()
    assert "draft model card" in card and "reviews (x2)" in card and "warm start" in card
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    mv = client.get_model_version("signet-detector", "1")
    from models.tracking import MODEL_DIR

    files = {Path(f.path).name for f in client.list_artifacts(mv.run_id, MODEL_DIR)}
    assert {"detector.onnx", "detector.md", "detector.golden.npz"} <= files
    assert str(client.get_model_version_by_alias("signet-detector", "candidate").version) == "1"


def test_given_a_checkpoint_trained_without_mlflow_when_finished_from_the_cli_then_its_epochs_are_logged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The GPU path (scripts/train_detector_gpu.py): train() alone on another machine, then
    `--from-checkpoint` here picks the threshold, exports, and logs the recorded epochs."""
    from mlflow.tracking import MlflowClient

    from models.cli import models as models_cli
    from models.corpus.writer import generate
    from models.detector.train import TrainConfig, train

    generate(tmp_path / "train", pages=4, seed=11, profile="scan", lang="en", workers=1, dpi=60)
    generate(tmp_path / "val", pages=2, seed=12, profile="scan", lang="en", workers=1, dpi=60)
    monkeypatch.chdir(tmp_path)
    cfg = TrainConfig(
        train_dir="train", val_dir="val", out_dir="elsewhere", crop=128, epochs=2, batch_size=2,
        workers=0, threads=1, warmup_steps=1, seed=7,
    )  # fmt: skip
    summary = train(cfg, progress=False)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    res = CliRunner().invoke(
        models_cli,
        [
            "train-detector", "--from-checkpoint", summary["best_checkpoint"], "--val-dir", "val",
            "--out", "finished", "--version", "0.0.2-gpu", "--tracking-uri", uri,
        ],
    )  # fmt: skip
    assert res.exit_code == 0, res.output + repr(res.exception)
    onnx_path = tmp_path / "finished" / "detector.onnx"
    import onnx

    props = {p.key: p.value for p in onnx.load(str(onnx_path)).metadata_props}
    assert json.loads(props["signet.version"]) == "0.0.2-gpu"
    assert json.loads(props["signet.dataset_hash"]) == summary["dataset_hash"]
    assert json.loads(props["signet.extra"])["seed"] == 7  # the recorded config, not the CLI default
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    run_id = client.get_model_version("signet-detector", "1").run_id
    assert [m.step for m in client.get_metric_history(run_id, "loss")] == [1, 2]
    assert client.get_run(run_id).data.params["crop"] == "128"
