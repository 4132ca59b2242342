"""models/tracking.py against a real MLflow SQLite store (no server)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from models.tracking import ALIASES, sha256_file, tracked_run
from tests.cloud.registry.tiny_onnx import build_tiny_onnx


@pytest.fixture
def uri(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/mlflow.db"


def test_given_a_training_run_when_registering_onnx_then_version_carries_signature_hash_card_and_alias(
    tmp_path: Path, uri: str
) -> None:
    from mlflow.tracking import MlflowClient

    onnx_path = build_tiny_onnx(tmp_path / "det.onnx", version="7")
    card = tmp_path / "det.md"
    card.write_text("# Tiny detector\nFor tests.\n")
    with tracked_run("detector", {"epochs": 3, "lr": 0.01}, tracking_uri=uri, run_name="t1") as t:
        t.metrics({"val_map50": 0.75, "bad": float("nan")}, step=1)
        t.text("hello", "notes/report.md")
        t.image(np.zeros((8, 8, 3), dtype=np.uint8), "previews/blank")
        t.validation_distribution(confidences=[0.9, 0.95, 0.2], signature_counts=[1, 2, 0])
        v1 = t.register_onnx(onnx_path, "tiny-detector", card=card)
        run_id = t.run_id
    with tracked_run("detector", {"epochs": 4}, tracking_uri=uri) as t2:
        v2 = t2.register_onnx(
            build_tiny_onnx(tmp_path / "d2.onnx", scale=3.0), "tiny-detector", aliases=("production",)
        )

    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED"
    assert run.data.params == {"epochs": "3", "lr": "0.01"}
    assert run.data.metrics == {"val_map50": 0.75}
    assert (v1, v2) == ("1", "2")
    mv = client.get_model_version("tiny-detector", v1)
    assert mv.tags["sha256"] == sha256_file(onnx_path)
    assert int(mv.tags["size"]) == onnx_path.stat().st_size
    sig = json.loads(mv.tags["signature"])
    assert [i["name"] for i in sig["inputs"]] == ["x"]
    assert sig["inputs"][0]["shape"] == ["batch", 4]
    assert sig["metadata"]["version"] == "7"
    assert mv.tags["file_label"] == ""  # the file names a version but no model: no label of its own
    assert mv.description.startswith("# Tiny detector")
    assert str(client.get_model_version_by_alias("tiny-detector", "candidate").version) == "1"
    assert str(client.get_model_version_by_alias("tiny-detector", "production").version) == "2"
    arts = {a.path for a in client.list_artifacts(run_id, "onnx")}
    assert {"onnx/det.onnx", "onnx/det.md", "onnx/signature.json", "onnx/det.golden.npz"} <= arts
    assert mv.tags["golden_source"] == "synthetic"
    from edge.rollout import RolloutError, self_test

    golden = Path(client.download_artifacts(run_id, "onnx/det.golden.npz", str(tmp_path / "g")))
    assert "2 golden pages within tolerance" in self_test(onnx_path, golden)
    with pytest.raises(RolloutError, match="off by"):
        self_test(build_tiny_onnx(tmp_path / "other.onnx", scale=5.0), golden)
    local = client.download_artifacts(run_id, "validation_distribution.json", str(tmp_path))
    dist = json.loads(Path(local).read_text())
    assert dist["confidence_hist"][9] == 2 and dist["signature_counts"] == {"1": 1, "2": 1, "0": 1}
    assert "production" in ALIASES


def test_given_a_failing_body_when_run_ends_then_run_is_marked_failed(uri: str) -> None:
    from mlflow.tracking import MlflowClient

    with pytest.raises(RuntimeError), tracked_run("detector", {}, tracking_uri=uri) as t:
        run_id = t.run_id
        raise RuntimeError("boom")
    assert MlflowClient(tracking_uri=uri).get_run(run_id).info.status == "FAILED"


def test_given_unknown_alias_or_missing_file_when_registering_then_clear_error(
    tmp_path: Path, uri: str
) -> None:
    with tracked_run("detector", {}, tracking_uri=uri) as t:
        with pytest.raises(FileNotFoundError, match="ONNX file not found"):
            t.register_onnx(tmp_path / "nope.onnx", "x")
        with pytest.raises(ValueError, match="unknown alias"):
            t.register_onnx(build_tiny_onnx(tmp_path / "a.onnx"), "x", aliases=("staging",))
