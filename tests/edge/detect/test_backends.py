"""Contract tests every detector backend must pass, run for each backend available here.

The tiny randomly initialised model stands in for the trained one: the contract (types, value
ranges, ordering, metadata, bad input) does not depend on what the weights learned.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edge.config import DetectorConfig
from edge.detect import (
    BACKENDS,
    BackendUnavailable,
    Detection,
    InvalidImage,
    SignatureDetector,
    load_detector,
)

PARAMS = [
    pytest.param("onnxruntime", id="onnxruntime"),
    pytest.param("tensorrt", id="tensorrt", marks=pytest.mark.jetson),
]


@pytest.fixture(params=PARAMS)
def detector(request: pytest.FixtureRequest, tiny_onnx: Path, tmp_path: Path) -> SignatureDetector:
    cfg = DetectorConfig(backend=request.param, model=tiny_onnx, engine_cache=tmp_path / "engines", threads=1)
    return load_detector(cfg)


def page(h: int = 300, w: int = 220) -> np.ndarray:
    rng = np.random.default_rng(1)
    img = np.full((h, w, 3), 255, np.uint8)
    img[rng.random((h, w)) < 0.05] = 0
    return img


def test_every_configurable_backend_has_a_test() -> None:
    assert {p.values[0] for p in PARAMS} == set(BACKENDS)


def test_given_a_page_when_detected_then_detections_obey_the_contract(detector: SignatureDetector) -> None:
    dets = detector.detect(page())
    assert isinstance(detector, SignatureDetector)
    assert detector.name == "tiny-detector" and detector.version == "0.0.1"
    assert dets, "the tiny model is built to fire somewhere"
    assert all(isinstance(d, Detection) for d in dets)
    for d in dets:
        x1, y1, x2, y2 = d.box
        assert 0 <= x1 < x2 <= 1 and 0 <= y1 < y2 <= 1
        assert d.score >= 0.3
    scores = [d.score for d in dets]
    assert scores == sorted(scores, reverse=True)
    assert len(dets) <= 50


def test_given_the_same_page_twice_then_same_detections(detector: SignatureDetector) -> None:
    assert detector.detect(page()) == detector.detect(page())


@pytest.mark.parametrize(
    "image",
    [
        np.zeros((1, 1, 3), np.uint8),
        np.full((300, 220), 255, np.uint8),
        np.full((300, 220, 4), 255, np.uint8),
        np.full((300, 220, 3), 65535, np.uint16),
        np.full((40, 20_000, 3), 255, np.uint8),
    ],
    ids=["1x1", "grey", "rgba", "16bit", "20000-wide"],
)
def test_given_odd_images_when_detected_then_a_list_not_a_crash(
    detector: SignatureDetector, image: np.ndarray
) -> None:
    dets = detector.detect(image)
    assert isinstance(dets, list)
    assert all(0 <= v <= 1 for d in dets for v in d.box)


def test_given_an_empty_image_then_a_clear_error(detector: SignatureDetector) -> None:
    with pytest.raises(InvalidImage, match="empty"):
        detector.detect(np.zeros((0, 0, 3), np.uint8))


def test_given_grey_and_bgr_of_the_same_page_then_same_detections(detector: SignatureDetector) -> None:
    grey = page()[:, :, 0]
    assert detector.detect(grey) == detector.detect(np.dstack([grey] * 3))


def test_given_threshold_override_then_it_replaces_the_models(tiny_onnx: Path) -> None:
    strict = load_detector(DetectorConfig(model=tiny_onnx, score_threshold=0.99))
    assert strict.detect(page()) == []


def test_given_tensorrt_absent_when_loaded_then_backend_unavailable_names_it(tiny_onnx: Path) -> None:
    try:
        import tensorrt  # noqa: F401
    except ImportError:
        with pytest.raises(BackendUnavailable, match=r"backend unavailable: .*tensorrt"):
            load_detector(DetectorConfig(backend="tensorrt", model=tiny_onnx))
    else:
        pytest.skip("TensorRT is installed here")


def test_given_only_absent_providers_then_backend_unavailable(tiny_onnx: Path) -> None:
    with pytest.raises(BackendUnavailable, match="NoSuchExecutionProvider"):
        load_detector(DetectorConfig(model=tiny_onnx, providers=["NoSuchExecutionProvider"]))


def test_given_missing_model_file_then_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="detector model not found"):
        load_detector(DetectorConfig(model=tmp_path / "nope.onnx"))
