"""``signet models dataset --from-reviews`` and ``signet models compare`` against real stores."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from edge.contract import Box, DocType, ModelRef, ModelsUsed, PageImage, Result, Signature, SourceRef, utcnow

REPO = Path(__file__).resolve().parents[2]


def _result(i: int, sha: str, sigs: int) -> Result:
    now = utcnow()
    return Result(
        device_id="dev-1",
        site="north",
        source=SourceRef(kind="folder", uri=f"folder:///in/{i}.png"),
        captured_at=now - timedelta(seconds=1),
        processed_at=now,
        image=PageImage(sha256=sha, width=200, height=100),
        signatures=[Signature(box=Box(x1=0.5, y1=0.5, x2=0.75, y2=0.7), score=0.8)] * sigs,
        signature_count=sigs,
        text=f"Invoice number {i} total 12.50 EUR",
        doc_type=DocType(label="letter", confidence=0.6, needs_review=True),
        models=ModelsUsed(
            detector=ModelRef(name="signet-detector", version="3"),
            classifier=ModelRef(name="signet-classifier", version="2"),
            ocr=ModelRef(name="tesseract", version="5"),
        ),
    )


def test_given_reviewed_pages_when_exporting_from_reviews_then_corrected_labels_and_images_form_a_corpus_set(
    tmp_path: Path,
) -> None:
    from sqlalchemy import select

    from cloud.db.engine import make_engine, session_scope
    from cloud.db.migrate import upgrade
    from cloud.db.models import Correction, Page, Review, SignatureBox
    from cloud.db.write import upsert_results
    from models.lifecycle import dataset

    images = tmp_path / "images"
    img = np.full((100, 200, 3), 255, np.uint8)
    cv2.putText(img, "page", (20, 50), cv2.FONT_HERSHEY_SIMPLEX, 1, (0, 0, 0), 2)
    data = cv2.imencode(".png", img)[1].tobytes()
    sha = hashlib.sha256(data).hexdigest()
    (images / sha[:2]).mkdir(parents=True)
    (images / sha[:2] / sha).write_bytes(data)
    url = f"sqlite:///{tmp_path}/cloud.db"
    engine = make_engine(url)
    upgrade(engine)
    with session_scope(engine) as s:
        upsert_results(
            s, [_result(1, sha, 1), _result(2, sha, 0), _result(3, "f" * 64, 0), _result(4, sha, 0)]
        )
    with session_scope(engine) as s:
        p1, p2, p3, _p4 = s.scalars(select(Page).order_by(Page.id)).all()
        s.add_all([Review(page_id=p.id, action="approve") for p in (p1, p2, p3)])
        s.add(Correction(page_id=p1.id, kind="doc_type", value={"label": "invoice"}))
        model_box = s.scalars(select(SignatureBox).where(SignatureBox.page_id == p1.id)).one()
        model_box.removed = True  # not a signature after all
        s.add(SignatureBox(page_id=p2.id, x1=0.1, y1=0.2, x2=0.3, y2=0.4, source="reviewer"))  # a missed one
    engine.dispose()
    cfg = tmp_path / "cloud.yaml"
    cfg.write_text(yaml.safe_dump({"database": {"url": url}, "web": {"images_dir": str(images)}}))
    out = tmp_path / "reviews"

    res = CliRunner().invoke(dataset, ["--from-reviews", "--out", str(out), "--config", str(cfg)])

    assert res.exit_code == 0, res.output
    assert "2 reviewed page(s)" in res.output and "1 skipped: no stored image" in res.output
    metas = {m["result_id"]: m for m in (json.loads(p.read_text()) for p in (out / "meta").glob("*.json"))}
    by_text = {m["text"].split()[2]: m for m in metas.values()}
    assert by_text["1"]["doc_type"] == "invoice" and by_text["1"]["model_doc_type"] == "letter"
    assert by_text["1"]["signatures"] == []
    assert by_text["2"]["signatures"] == [{"box": [20.0, 20.0, 60.0, 40.0], "kind": "signature"}]
    label = (out / "labels" / f"{by_text['2']['id']}.txt").read_text().split()
    assert label[0] == "0" and [float(v) for v in label[1:]] == pytest.approx([0.2, 0.3, 0.2, 0.2])
    assert cv2.imread(str(out / "images" / f"{by_text['2']['id']}.png")).shape == (100, 200, 3)
    assert len((out / "manifest.jsonl").read_text().splitlines()) == 2

    # The exported set mixes into both trainings, weighted up, with the reviewers' labels.
    pytest.importorskip("torch", reason="training needs torch (train extra)")
    from models.classifier.train import mixed_records
    from models.detector.train import TrainConfig, training_records

    corpus = tmp_path / "corpus"
    (corpus / "images").mkdir(parents=True)
    cv2.imwrite(str(corpus / "images" / "c1.png"), img)
    recs = training_records(TrainConfig(train_dir=str(corpus), mix=(str(out),), mix_repeat=3))
    assert len(recs) == 1 + 2 * 3
    mixed = [r for r in recs if r.path.parent.parent == out]
    assert sorted(len(r.boxes) for r in mixed) == [0, 0, 0, 1, 1, 1]
    assert next(r for r in mixed if len(r.boxes)).boxes.tolist() == [[20.0, 20.0, 60.0, 40.0]]
    texts = mixed_records([str(out)])
    assert sorted(r["doc_type"] for r in texts) == ["invoice", "letter"]
    assert all(r["text"].startswith("Invoice number") for r in texts)
    with pytest.raises(FileNotFoundError, match="--mix"):
        training_records(TrainConfig(train_dir=str(corpus), mix=(str(tmp_path / "nope"),)))


def test_given_a_candidate_when_compared_then_both_results_are_logged_and_the_candidate_registered(
    tmp_path: Path,
) -> None:
    detector = REPO / "models" / "artifacts" / "detector.onnx"
    if not detector.is_file():
        pytest.skip("models/artifacts/detector.onnx is not built yet (engineer B's shipped detector)")
    from mlflow.tracking import MlflowClient

    from models.corpus import generate
    from models.lifecycle import compare

    data = tmp_path / "test"
    generate(data, pages=4, seed=3000, profile="scan", lang="en", workers=1)
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    res = CliRunner().invoke(
        compare,
        [
            "--candidate",
            str(detector),
            "--production",
            str(detector),
            "--data",
            str(data),
            "--tracking-uri",
            uri,
        ],
    )
    assert res.exit_code == 0, res.output
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    mv = client.get_model_version_by_alias("signet-detector", "candidate")
    m = client.get_run(mv.run_id).data.metrics
    assert m["candidate_map50"] == m["production_map50"] and m["delta_map50"] == 0.0
