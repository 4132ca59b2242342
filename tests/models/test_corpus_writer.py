"""Writing a corpus: files, YOLO vs COCO vs meta agreement, worker independence, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import pytest
from click.testing import CliRunner

from models.corpus import generate, generate_page, page_seed
from signet.cli import cli


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("corpus")
    generate(out, pages=10, seed=77, profile="mixed", lang="mixed", workers=2, dpi=60)
    return out


def test_given_a_run_when_written_then_every_page_has_image_label_and_meta(corpus: Path) -> None:
    rows = [json.loads(line) for line in (corpus / "manifest.jsonl").read_text().splitlines()]
    assert len(rows) == 10
    assert len({r["id"] for r in rows}) == 10
    for r in rows:
        meta = json.loads((corpus / r["meta"]).read_text())
        img = cv2.imread(str(corpus / r["image"]))
        assert img is not None and img.shape[:2] == (meta["height"], meta["width"])
        assert meta["id"] == r["id"] and meta["image"] == r["image"]
        assert meta["seed"] == page_seed(77, rows.index(r))
        for key in (
            "dpi",
            "text",
            "fields",
            "doc_type",
            "profile",
            "lang",
            "page_size_mm",
            "expected_signature_places",
        ):
            assert key in meta
        assert r["signatures"] == len(meta["signatures"])


def test_given_a_run_when_yolo_coco_and_meta_are_compared_then_they_agree(corpus: Path) -> None:
    coco = json.loads((corpus / "coco.json").read_text())
    assert coco["categories"] == [{"id": 1, "name": "signature", "supercategory": "ink"}]
    by_image: dict[int, list[list[float]]] = {}
    for a in coco["annotations"]:
        by_image.setdefault(a["image_id"], []).append(a["bbox"])
    for im in coco["images"]:
        meta = json.loads((corpus / "meta" / f"{im['page_id']}.json").read_text())
        w, h = meta["width"], meta["height"]
        assert (im["width"], im["height"]) == (w, h)
        boxes = [s["box"] for s in meta["signatures"]]
        assert [[x1, y1, x2 - x1, y2 - y1] for x1, y1, x2, y2 in boxes] == by_image.get(im["id"], [])
        lines = (corpus / "labels" / f"{im['page_id']}.txt").read_text().splitlines()
        assert len(lines) == len(boxes)
        for line, (x1, y1, x2, y2) in zip(lines, boxes, strict=True):
            c, cx, cy, bw, bh = line.split()
            assert c == "0"
            assert abs(float(cx) * w - (x1 + x2) / 2) < 0.01 and abs(float(cy) * h - (y1 + y2) / 2) < 0.01
            assert abs(float(bw) * w - (x2 - x1)) < 0.01 and abs(float(bh) * h - (y2 - y1)) < 0.01


def test_given_one_or_two_workers_when_the_same_run_is_made_then_files_are_identical(
    corpus: Path, tmp_path: Path
) -> None:
    generate(tmp_path, pages=4, seed=77, profile="mixed", lang="mixed", workers=1, dpi=60)
    for meta in sorted((tmp_path / "meta").glob("*.json")):
        assert meta.read_text() == (corpus / "meta" / meta.name).read_text()
    for img in sorted((tmp_path / "images").iterdir()):
        assert img.read_bytes() == (corpus / "images" / img.name).read_bytes()
    # and any page of a run can be made alone
    alone = generate_page(page_seed(77, 2), "mixed", "mixed", dpi=60)
    assert alone.meta["text"] == json.loads((corpus / "meta" / "s77-000002.json").read_text())["text"]


def test_given_the_cli_when_generate_then_preview_then_a_sheet_is_drawn(tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(
        cli,
        [
            "data",
            "generate",
            "--out",
            str(tmp_path / "c"),
            "--pages",
            "3",
            "--seed",
            "5",
            "--profile",
            "scan",
            "--lang",
            "fr",
            "--workers",
            "1",
            "--dpi",
            "50",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "3 pages" in res.output
    assert len(list((tmp_path / "c" / "images").iterdir())) == 3
    res = runner.invoke(cli, ["data", "preview", str(tmp_path / "c"), "--out", str(tmp_path / "sheet.png")])
    assert res.exit_code == 0, res.output
    sheet = cv2.imread(str(tmp_path / "sheet.png"))
    assert sheet is not None and sheet.shape[0] > 100


def test_given_a_directory_that_is_not_a_corpus_when_previewed_then_the_error_says_so(tmp_path: Path) -> None:
    res = CliRunner().invoke(cli, ["data", "preview", str(tmp_path), "--out", str(tmp_path / "x.png")])
    assert res.exit_code != 0
    assert "signet data generate" in res.output
