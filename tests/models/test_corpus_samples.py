"""The committed sample set is complete, small, and agrees with its own ground truth."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from models.corpus import DOC_TYPES

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


def test_given_the_sample_set_when_measured_then_it_stays_under_15_mb() -> None:
    total = sum(f.stat().st_size for f in SAMPLES.rglob("*") if f.is_file())
    assert 0 < total <= 15 * 1024 * 1024


def test_given_sample_pages_when_listed_then_every_type_and_both_profiles_are_there_with_labels() -> None:
    rows = [json.loads(line) for line in (SAMPLES / "pages" / "manifest.jsonl").read_text().splitlines()]
    assert len(rows) == 30
    assert {r["doc_type"] for r in rows} == set(DOC_TYPES)
    assert {r["profile"] for r in rows} == {"scan", "webcam"} and {r["lang"] for r in rows} == {"en", "fr"}
    for r in rows:
        meta = json.loads((SAMPLES / "pages" / r["meta"]).read_text())
        img = cv2.imread(str(SAMPLES / "pages" / r["image"]))
        assert img.shape[:2] == (meta["height"], meta["width"])
        labels = (SAMPLES / "pages" / r["label"]).read_text().splitlines()
        assert len(labels) == len(meta["signatures"])
        grey = img.min(axis=2)
        for s in meta["signatures"]:
            x1, y1, x2, y2 = s["box"]
            around = grey[max(0, y1 - 20) : y2 + 20, max(0, x1 - 20) : x2 + 20]
            assert grey[y1:y2, x1:x2].min() < np.median(around) - 30, (r["id"], s)


def test_given_the_sample_pdfs_when_rendered_at_their_dpi_then_pages_and_boxes_match_the_json() -> None:
    pdfium = pytest.importorskip("pypdfium2")
    for name in ("scanner-batch", "contract-bundle"):
        truth = json.loads((SAMPLES / "pdf" / f"{name}.json").read_text())
        pdf = pdfium.PdfDocument(str(SAMPLES / "pdf" / f"{name}.pdf"))
        assert len(pdf) == len(truth["pages"]) >= 3
        for i, page_truth in enumerate(truth["pages"]):
            img = np.asarray(pdf[i].render(scale=truth["dpi"] / 72).to_pil().convert("L"))
            assert (
                abs(img.shape[1] - page_truth["width"]) <= 1 and abs(img.shape[0] - page_truth["height"]) <= 1
            )
            for x1, y1, x2, y2 in page_truth["signatures"]:
                assert img[y1:y2, x1:x2].min() < np.median(img) - 40
        assert any(p["signatures"] for p in truth["pages"])


def test_given_the_sample_video_when_read_then_frames_match_the_json_and_signatures_are_in_view() -> None:
    truth = json.loads((SAMPLES / "video" / "desk.json").read_text())
    cap = cv2.VideoCapture(str(SAMPLES / "video" / "desk.mp4"))
    frames = []
    while True:
        ok, f = cap.read()
        if not ok:
            break
        frames.append(f)
    assert len(frames) == truth["frames"] and frames[0].shape[:2] == (480, 640)
    assert 10 <= truth["seconds"] <= 16 and truth["fps"] == 15
    assert len(truth["documents"]) >= 3
    for doc in truth["documents"]:
        assert doc["enter_frame"] < doc["still_start"] < doc["still_end"] < doc["leave_frame"]
        assert (doc["still_end"] - doc["still_start"] + 1) / truth["fps"] >= 1.5
        mid = frames[(doc["still_start"] + doc["still_end"]) // 2].min(axis=2)
        for x1, y1, x2, y2 in doc["signatures"]:
            assert (
                mid[y1:y2, x1:x2].min()
                < np.median(mid[max(0, y1 - 20) : y2 + 20, max(0, x1 - 20) : x2 + 20]) - 30
            )
        # held still: consecutive still frames barely differ; the page moves while it enters
        a, b = frames[doc["still_start"] + 2], frames[doc["still_start"] + 3]
        assert np.abs(a.astype(int) - b.astype(int)).mean() < 6


@pytest.mark.slow
def test_given_the_samples_command_when_rerun_then_it_reproduces_the_committed_ground_truth(
    tmp_path: Path,
) -> None:
    from models.corpus.samples import build_samples

    build_samples(tmp_path, 7)
    for meta in sorted((SAMPLES / "pages" / "meta").glob("*.json")):
        assert (tmp_path / "pages" / "meta" / meta.name).read_text() == meta.read_text()
    assert (tmp_path / "video" / "desk.json").read_text() == (SAMPLES / "video" / "desk.json").read_text()
