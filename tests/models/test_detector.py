"""Detector training pieces: targets, losses, metrics, and a tiny resumable training run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="training needs torch (train extra)")

from models.detector.dataset import make_targets, read_yolo  # noqa: E402
from models.detector.losses import detector_loss, focal_loss, giou_loss  # noqa: E402
from models.detector.metrics import PagePred, average_precision, box_metrics, page_metrics, prf  # noqa: E402
from models.detector.model import STRIDE, ModelSpec, SignatureNet, count_flops, count_params  # noqa: E402


def test_given_a_box_then_heatmap_peaks_at_its_centre_cell_and_weights_sum_to_one() -> None:
    box = np.array([[40.0, 60.0, 120.0, 84.0]], np.float32)
    t = make_targets(box, 256)
    hm = t["heatmap"][0]
    assert hm.shape == (256 // STRIDE, 256 // STRIDE)
    cy, cx = np.unravel_index(hm.argmax(), hm.shape)
    assert (cx, cy) == (int(80 / STRIDE), int(72 / STRIDE)) and hm.max() == 1.0
    assert (hm == 1.0).sum() == 1
    assert t["weight"].sum() == pytest.approx(1.0)
    assert np.allclose(t["box"][:, cy, cx], box[0])


def test_given_ignore_region_then_heatmap_loss_masked_there_only() -> None:
    t = make_targets(np.zeros((0, 4), np.float32), 128, ignore=np.array([[0, 0, 32, 32]], np.float32))
    assert t["mask"][:4, :4].sum() == 0 and t["mask"].sum() == 16 * 16 - 16


def test_given_perfect_predictions_then_losses_are_near_zero() -> None:
    box = np.array([[40.0, 60.0, 120.0, 84.0]], np.float32)
    t = {k: torch.from_numpy(v)[None] for k, v in make_targets(box, 128).items()}
    hm = t["heatmap"].clamp(1e-4, 1 - 1e-4)
    n = 128 // STRIDE
    ys, xs = torch.meshgrid(torch.arange(n), torch.arange(n), indexing="ij")
    cx, cy = (xs + 0.5) * STRIDE, (ys + 0.5) * STRIDE
    ltrb = torch.stack([cx - 40, cy - 60, 120 - cx, 84 - cy])[None].float()
    assert giou_loss(ltrb, t["box"], t["weight"]) < 1e-4
    assert focal_loss(hm, t["heatmap"], t["mask"]) < focal_loss(hm * 0 + 0.5, t["heatmap"], t["mask"])


def test_given_the_network_then_static_heads_at_stride_8_and_size_in_budget() -> None:
    model = SignatureNet(ModelSpec(input_size=640)).eval()
    with torch.no_grad():
        hm, lt = model(torch.zeros(1, 3, 640, 640))
    assert hm.shape == (1, 1, 80, 80) and lt.shape == (1, 4, 80, 80)
    assert float(hm.max()) < 0.05 and float(lt.min()) >= 0  # background prior, non-negative distances
    assert count_params(model) < 2_000_000 and count_flops(model, 640) < 3e9


def test_ap_is_one_for_perfect_and_half_precision_for_one_false_positive() -> None:
    gt = np.array([[0.1, 0.1, 0.3, 0.2]], np.float32)
    perfect = [PagePred(gt.copy(), np.array([0.9], np.float32), gt)]
    assert average_precision(perfect, 0.5)[0] == pytest.approx(1.0)
    assert box_metrics(perfect, 0.5)["map50_95"] == pytest.approx(1.0)
    noisy = [PagePred(np.vstack([gt, [[0.6, 0.6, 0.8, 0.7]]]), np.array([0.9, 0.95], np.float32), gt)]
    m = prf(noisy, 0.5)
    assert (m["precision"], m["recall"], m["tp"], m["fp"]) == (0.5, 1.0, 1, 1)


def test_page_metrics_count_signed_pages_and_fill_the_confusion_table() -> None:
    b = np.array([[0.1, 0.1, 0.2, 0.2]], np.float32)
    pages = [
        PagePred(b, np.array([0.9], np.float32), b),  # signed, 1 -> 1
        PagePred(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), b),  # missed
        PagePred(b, np.array([0.2], np.float32), np.zeros((0, 4), np.float32)),  # below threshold: unsigned
    ]
    m = page_metrics(pages, 0.5)
    assert m["signed_accuracy"] == pytest.approx(2 / 3) and m["count_accuracy"] == pytest.approx(2 / 3)
    assert m["confusion"][1, 1] == 1 and m["confusion"][1, 0] == 1 and m["confusion"][0, 0] == 1


def test_yolo_labels_become_pixel_boxes(tmp_path: Path) -> None:
    f = tmp_path / "a.txt"
    f.write_text("0 0.5 0.5 0.2 0.1\n\n")
    assert np.allclose(read_yolo(f, 100, 200), [[40, 90, 60, 110]])
    assert read_yolo(tmp_path / "missing.txt", 10, 10).shape == (0, 4)


def test_given_loss_on_random_init_then_finite_and_differentiable() -> None:
    model = SignatureNet(ModelSpec(input_size=128, width=0.25))
    t = {
        k: torch.from_numpy(v)[None]
        for k, v in make_targets(np.array([[10, 10, 60, 30]], np.float32), 128).items()
    }
    hm, lt = model(torch.zeros(1, 3, 128, 128))
    loss, parts = detector_loss(hm, lt, t)
    loss.backward()
    assert np.isfinite(float(loss)) and set(parts) == {"loss_heatmap", "loss_giou"}
    assert model.hm.weight.grad is not None


@pytest.fixture(scope="module")
def tiny_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    corpus = pytest.importorskip("models.corpus", reason="corpus generator (engineer A) not present")
    root = tmp_path_factory.mktemp("corpus")
    corpus.generate(root / "train", pages=4, seed=11, profile="mixed", lang="en", workers=1, dpi=60)
    corpus.generate(root / "val", pages=2, seed=12, profile="scan", lang="en", workers=1, dpi=60)
    return root


def test_given_tiny_corpus_when_trained_and_resumed_then_checkpoints_continue(
    tiny_corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from models.detector.train import TrainConfig, train

    monkeypatch.chdir(tmp_path)  # the canvas cache goes under ./var
    cfg = TrainConfig(
        train_dir=str(tiny_corpus / "train"),
        val_dir=str(tiny_corpus / "val"),
        out_dir=str(tmp_path / "run"),
        input_size=128,
        crop=96,
        width=0.25,
        epochs=1,
        batch_size=2,
        workers=0,
        threads=1,
        warmup_steps=1,
    )
    first = train(cfg, progress=False)
    assert Path(first["last_checkpoint"]).is_file() and len(first["dataset_hash"]) == 16
    cfg.epochs = 2
    second = train(cfg, resume=Path(first["last_checkpoint"]), progress=False)
    # the history carries the epochs before the resume, so a run logged afterwards has them all
    assert [row["epoch"] for row in second["history"]] == [1, 2]
    ck = torch.load(second["last_checkpoint"], weights_only=False)
    assert ck["epoch"] == 1 and ck["step"] == 4
    assert [row["epoch"] for row in ck["history"]] == [1, 2]
