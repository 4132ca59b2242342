"""The handwriting word model at the edge: crops, the shipped ONNX file, and what the reader
leaves out of a page's text."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from pydantic import ValidationError

from edge.read.hand import CROP_H, CROP_W, HandwritingModel, HandwritingUnavailable, word_crop, word_crops
from edge.read.ocr import Line, OcrPage, Word
from edge.read.reader import text_words

SHIPPED = Path("models/artifacts/handwriting.onnx")


def _page_with(text: str, scale: float = 1.0, grey: int = 0) -> np.ndarray:
    img = np.full((200, 600), 255, np.uint8)
    cv2.putText(img, text, (20, 120), cv2.FONT_HERSHEY_SIMPLEX, 1.5 * scale, grey, 3, cv2.LINE_AA)
    return img


def test_given_a_word_when_cropped_then_ink_is_positive_and_the_crop_is_left_aligned() -> None:
    img = _page_with("Total")
    crop = word_crop(img, (10 / 600, 70 / 200, 180 / 600, 135 / 200))
    assert crop.shape == (CROP_H, CROP_W) and crop.dtype == np.float32
    assert crop.max() == pytest.approx(1.0) and crop.min() == 0.0
    assert crop[:, : CROP_W // 2].sum() > crop[:, CROP_W // 2 :].sum()  # a short word: paper on the right


def test_given_faint_and_black_print_when_cropped_then_both_reach_full_ink() -> None:
    box = (10 / 600, 70 / 200, 180 / 600, 135 / 200)
    black, faint = word_crop(_page_with("Total"), box), word_crop(_page_with("Total", grey=170), box)
    assert black.max() == pytest.approx(1.0) and faint.max() > 0.9  # contrast stretched per word
    assert abs(float(black.mean()) - float(faint.mean())) < 0.1


def test_given_boxes_off_the_page_or_empty_when_cropped_then_paper_comes_back() -> None:
    img = _page_with("x")
    crops = word_crops(img, [(1.2, 1.2, 1.5, 1.5), (0.5, 0.5, 0.5, 0.5), (0.0, 0.0, 1.0, 1.0)])
    assert crops.shape == (3, 1, CROP_H, CROP_W)
    assert crops[0].sum() == 0 and crops[1].sum() == 0 and crops[2].sum() > 0
    assert word_crops(img, []).shape == (0, 1, CROP_H, CROP_W)


def test_given_a_long_line_when_cropped_then_it_is_squeezed_to_the_crop_width() -> None:
    img = np.full((60, 3000), 255, np.uint8)
    img[20:40, 10:2990] = 0
    crop = word_crop(img, (0.0, 0.0, 1.0, 1.0))
    assert crop[:, -4:].max() > 0.9  # reaches the right edge: squeezed, not cut


def test_given_no_model_file_or_a_foreign_one_when_loaded_then_the_error_says_why(tmp_path: Path) -> None:
    with pytest.raises(HandwritingUnavailable, match="not found"):
        HandwritingModel(tmp_path / "none.onnx")
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not an onnx file")
    with pytest.raises(HandwritingUnavailable, match="cannot load"):
        HandwritingModel(bad)
    detector = Path("models/artifacts/detector.onnx")  # a real ONNX file without the metadata
    with pytest.raises(HandwritingUnavailable, match="metadata"):
        HandwritingModel(detector)


def _ocr_page(hands: list[float]) -> OcrPage:
    page = OcrPage(size=(100, 100))
    for i, h in enumerate(hands):
        page.words.append(Word(f"w{i}", 0.9, (0.1 * i, 0.1, 0.1 * i + 0.05, 0.15), 1, 1, 1, index=i, hand=h))
    page.lines.append(Line(words=list(range(len(hands))), text="", block=1, box=(0, 0.1, 1, 0.15)))
    page.lines[0].text = " ".join(w.text for w in page.words)
    page.blocks.append([0])
    return page


def test_given_a_few_handwritten_words_when_the_text_is_made_then_they_are_left_out() -> None:
    page = _ocr_page([0.1, 0.99, 0.2, 0.3])
    assert text_words(page, "scan", 0.9).text == "w0 w2 w3"
    assert text_words(page, "scan", None).text == "w0 w1 w2 w3"  # no model: all kept
    assert len(page.words) == 4  # the page itself keeps them (fields and ``words`` see them)


def test_given_a_page_written_mostly_by_hand_when_the_text_is_made_then_its_words_stay() -> None:
    page = _ocr_page([0.95, 0.99, 0.2, 0.97])
    assert text_words(page, "scan", 0.9).text == "w0 w1 w2 w3"


@pytest.fixture(scope="module")
def shipped() -> HandwritingModel:
    return HandwritingModel(SHIPPED)


def test_the_shipped_model_carries_its_metadata(shipped: HandwritingModel) -> None:
    assert shipped.info.name == "signet-handwriting"
    assert 0.5 <= shipped.info.threshold < 1.0
    assert SHIPPED.stat().st_size < 1_000_000


def test_given_corpus_scans_when_their_words_are_scored_then_handwriting_is_told_from_print(
    shipped: HandwritingModel,
) -> None:
    """Four test-split scans with hand-filled forms and annotations, read as the edge reads
    them: most handwritten words are above the threshold, almost no printed word is."""
    from models.classifier.data import page_specs
    from models.hand.data import page_words

    specs = [
        s for s in page_specs("test", 80) if s.profile == "scan" and s.doc_type in ("kyc_form", "mandate")
    ][:4]
    xs, ys = [], []
    for spec in specs:
        crops, labels, _ = page_words(spec)
        xs.append(crops)
        ys.append(labels)
    x, y = np.concatenate(xs), np.concatenate(ys)
    logit = shipped.session.run(None, {shipped.input: x[:, None].astype(np.float32) / 255.0})[0]
    p = 1 / (1 + np.exp(-logit.reshape(-1)))
    called = p >= shipped.info.threshold
    assert (y == 1).sum() >= 10
    assert called[y == 1].mean() >= 0.6
    assert called[y == 0].mean() <= 0.02


def test_given_a_form_filled_in_by_hand_when_read_then_its_handwriting_is_in_words_not_in_text() -> None:
    """A corpus KYC form read end to end, with the model and without: the same words come back,
    marked, and the text loses the handwritten ones only."""
    from edge.config import ReaderConfig
    from edge.read import PageReader
    from models.classifier.data import page_specs
    from models.reading_report import _read_spec

    spec = next(s for s in page_specs("test", 80) if s.profile == "scan" and s.doc_type == "kyc_form")
    with_model = _read_spec(PageReader(ReaderConfig()), spec)["reading"]
    without = _read_spec(PageReader(ReaderConfig(handwriting=None)), spec)["reading"]
    threshold = HandwritingModel(SHIPPED).info.threshold
    hand = [w["text"] for w in with_model.words if w["hand"] >= threshold]
    assert len(hand) >= 3
    assert [w["text"] for w in with_model.words] == [w["text"] for w in without.words]
    assert all(w["hand"] == 0.0 for w in without.words)
    assert len(with_model.text.split()) < len(without.text.split())
    assert with_model.fields.model_dump() == without.fields.model_dump()  # the fields see every word
    # the Result names the model that filtered its text, and none where none ran
    info = HandwritingModel(SHIPPED).info
    assert with_model.handwriting is not None
    assert (with_model.handwriting.name, with_model.handwriting.version) == (info.name, info.version)
    assert without.handwriting is None


def test_given_the_model_fails_at_run_time_when_a_page_is_read_then_the_page_is_still_read(
    tmp_path: Path,
) -> None:
    """A model file that loads (right metadata) but whose graph takes one crop at a time: ONNX
    Runtime refuses the page's batch of words, and the page is read all the same."""
    import onnx
    from onnx import TensorProto, helper

    from edge.config import ReaderConfig
    from edge.read import PageReader

    graph = helper.make_graph(
        [helper.make_node("ReduceMean", ["crops"], ["logit"], axes=[1, 2, 3], keepdims=0)],
        "one-at-a-time",
        [helper.make_tensor_value_info("crops", TensorProto.FLOAT, [1, 1, CROP_H, CROP_W])],
        [helper.make_tensor_value_info("logit", TensorProto.FLOAT, [1])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    for k, v in {"name": "one-at-a-time", "version": "0", "threshold": "0.5", "crop": "[32, 128]"}.items():
        model.metadata_props.add(key=k, value=v)
    path = tmp_path / "one.onnx"
    onnx.save(model, str(path))
    reader = PageReader(ReaderConfig(handwriting=path))
    assert reader.hand is not None
    reading = reader.read(_page_with("Invoice total 12.50"), [], "scan")
    assert "total" in reading.text.lower() and all(w["hand"] == 0.0 for w in reading.words)
    assert reading.handwriting is None  # it did not look at the page: the Result does not name it
    assert len(reading.words) >= 2  # several words: a batch the graph refuses


def test_given_a_camera_page_flattened_from_its_outline_when_input_points_are_mapped_then_they_land_on_it() -> (
    None
):
    """``input_to_page`` follows the flattening of a webcam page (what labels its words for the
    handwriting model): a dark square drawn on a tilted page in the frame is found where the
    square's centre in the frame is mapped to."""
    from edge.read.preprocess import input_to_page, prepare

    frame = np.full((900, 1200), 70, np.uint8)  # a dark desk
    quad = np.array([[300, 80], [930, 140], [880, 860], [240, 800]], np.float32)
    page = np.full((1400, 1000), 235, np.uint8)
    for y in range(100, 1300, 40):  # lines of 'print' so the page reads as a page
        page[y : y + 8, 100:900] = 30
    page[600:700, 400:500] = 0  # the square, centre (450, 650) on the page
    m = cv2.getPerspectiveTransform(np.array([[0, 0], [999, 0], [999, 1399], [0, 1399]], np.float32), quad)
    cv2.warpPerspective(page, m, (1200, 900), dst=frame, borderMode=cv2.BORDER_TRANSPARENT)
    centre = cv2.perspectiveTransform(np.array([[[450.0, 650.0]]], np.float32), m)[0]
    prep = prepare(cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR), "webcam")
    assert prep.page_found and prep.warp is not None
    ((x, y),) = input_to_page(prep, frame.shape, centre)
    gh, gw = prep.gray.shape[:2]
    near = prep.gray[int(y * gh) - 10 : int(y * gh) + 10, int(x * gw) - 10 : int(x * gw) + 10]
    assert int((near < 60).sum()) > 300  # inside the square, which is larger than 20 x 20 px there


def test_given_registry_labels_when_a_page_is_read_then_its_result_names_the_registry_versions() -> None:
    """A rollout names the reader's models by their registry version ("signet-handwriting:2"),
    which the Models page splits its live figures by; the ONNX file says "1.0.0"."""
    from edge.config import ReaderConfig
    from edge.read import PageReader

    labelled = PageReader(
        ReaderConfig(classifier_label="signet-classifier:3", handwriting_label="signet-handwriting:2")
    )
    reading = labelled.read(_page_with("Invoice total 12.50"), [], "scan")
    assert (reading.classifier.name, reading.classifier.version) == ("signet-classifier", "3")
    assert reading.handwriting is not None
    assert (reading.handwriting.name, reading.handwriting.version) == ("signet-handwriting", "2")
    plain = PageReader(ReaderConfig()).read(_page_with("Invoice total 12.50"), [], "scan")
    assert (
        plain.handwriting is not None and plain.handwriting.version == HandwritingModel(SHIPPED).info.version
    )
    with pytest.raises(ValidationError):
        ReaderConfig(classifier_label="no-version")


def test_given_reader_model_files_when_labelled_for_the_status_then_each_case_says_what_it_is(
    tmp_path: Path,
) -> None:
    from edge.read.onnx_cpu import model_label

    info = HandwritingModel(SHIPPED).info
    assert model_label(SHIPPED, None) == f"{info.name}:{info.version}"
    assert model_label(SHIPPED, "signet-handwriting:2") == "signet-handwriting:2"
    assert model_label(None, None) is None  # no model configured: not named
    bad = tmp_path / "hand.onnx"
    bad.write_bytes(b"not a model")
    assert model_label(bad, None) == "hand:unavailable"
    assert model_label(tmp_path / "gone.onnx", None) == "gone:unavailable"
