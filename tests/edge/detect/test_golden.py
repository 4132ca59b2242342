"""Golden outputs of the shipped detector on committed sample pages.

Boxes and scores are compared within a tolerance (kernels differ slightly across CPUs and ONNX
Runtime versions). When the model changes on purpose, regenerate with
``SIGNET_REGEN_GOLDEN=1 .venv/bin/python -m pytest tests/edge/detect/test_golden.py`` and commit
the JSON together with the model.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import cv2
import pytest

from edge.config import DetectorConfig
from edge.detect import load_detector
from edge.detect.engine_file import file_sha256

from .conftest import REPO, SHIPPED

GOLDEN = Path(__file__).parent / "golden" / "detector.json"
PAGES = REPO / "samples" / "pages" / "images"
N_PAGES = 6
BOX_ATOL = 0.01  # normalised; about 6 px on a 640 px model input
SCORE_ATOL = 0.02


def sample_pages() -> list[Path]:
    return sorted(PAGES.iterdir())[:N_PAGES] if PAGES.is_dir() else []


def run_model() -> dict[str, list[dict[str, object]]]:
    det = load_detector(DetectorConfig(model=SHIPPED, threads=2))
    out = {}
    for p in sample_pages():
        dets = det.detect(cv2.imread(str(p), cv2.IMREAD_UNCHANGED))
        out[p.name] = [{"box": [round(v, 5) for v in d.box], "score": round(d.score, 5)} for d in dets]
    return out


@pytest.fixture(scope="module")
def shipped() -> Path:
    if not SHIPPED.is_file():
        pytest.skip(f"no shipped model at {SHIPPED}")
    if not sample_pages():
        pytest.skip(f"no sample pages at {PAGES}")
    return SHIPPED


def test_given_sample_pages_then_shipped_model_matches_golden_boxes(shipped: Path) -> None:
    got = run_model()
    sha = file_sha256(shipped)
    if os.environ.get("SIGNET_REGEN_GOLDEN") == "1":
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(json.dumps({"model_sha256": sha, "pages": got}, indent=1) + "\n")
        pytest.skip(f"golden outputs regenerated in {GOLDEN}")
    assert GOLDEN.is_file(), "no golden file: run with SIGNET_REGEN_GOLDEN=1 once, on purpose"
    golden = json.loads(GOLDEN.read_text())
    assert golden["model_sha256"] == sha, (
        "models/artifacts/detector.onnx changed since the golden outputs were made: "
        "check the new model, then regenerate with SIGNET_REGEN_GOLDEN=1"
    )
    assert set(got) == set(golden["pages"])
    for name, want in golden["pages"].items():
        have = got[name]
        assert len(have) == len(want), f"{name}: {len(have)} detections, golden {len(want)}"
        for h, w in zip(have, want, strict=True):
            assert h["box"] == pytest.approx(w["box"], abs=BOX_ATOL), name
            assert h["score"] == pytest.approx(w["score"], abs=SCORE_ATOL), name
