"""Train, choose the threshold of, and export the handwriting word model (edge/read/hand.py).

A four-layer CNN (about 60 k parameters, 12 M multiply-adds a word) over word crops, one logit:
handwritten or printed. It trains from scratch on the crops of the corpus's training scans
(``models.hand.data``), with the positive class weighted up (about one word in 36 is
handwritten) and each crop shifted, lightened or darkened a little. The threshold is chosen on the validation scans: the lowest at
which at least ``precision`` of the words called handwritten are (a printed word left out of the
page's text is lost text; a handwritten one left in is only noise). Exported to ONNX with its
metadata (name, version, crop size, threshold, training data) inside the file.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from edge.read.hand import CROP_H, CROP_W

log = logging.getLogger(__name__)

NAME = "signet-handwriting"


@dataclass
class HandParams:
    train_pages: int = 1000  # specs of the train split (half of them scans)
    val_pages: int = 160
    epochs: int = 8
    batch_size: int = 128
    lr: float = 2e-3
    seed: int = 7
    precision: float = 0.9  # of words called handwritten, at the threshold chosen on validation
    threads: int = 2
    version: str = "1.0.0"


def build_model() -> Any:
    import torch
    from torch import nn

    def block(cin: int, cout: int, pool: bool) -> list[Any]:
        layers: list[Any] = [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]
        return layers + ([nn.MaxPool2d(2)] if pool else [])

    class HandNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.features = nn.Sequential(
                *block(1, 16, True), *block(16, 32, True), *block(32, 64, True), *block(64, 64, False)
            )
            self.head = nn.Linear(128, 1)

        def forward(self, x: Any) -> Any:
            f = self.features(x)
            pooled = torch.cat([f.mean(dim=(2, 3)), f.amax(dim=(2, 3))], dim=1)
            return self.head(pooled)[:, 0]

    return HandNet()


def _augment(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A batch of crops (N x 1 x H x W, 0..1) shifted up to 6 px sideways and 2 px up or down,
    with the ink's strength scaled by 0.6-1.2."""
    out = np.zeros_like(x)
    for i in range(len(x)):
        dx, dy = int(rng.integers(-6, 7)), int(rng.integers(-2, 3))
        src = x[i, 0]
        ys, yd = (
            (slice(0, CROP_H - dy), slice(dy, CROP_H))
            if dy >= 0
            else (slice(-dy, CROP_H), slice(0, CROP_H + dy))
        )
        xs, xd = (
            (slice(0, CROP_W - dx), slice(dx, CROP_W))
            if dx >= 0
            else (slice(-dx, CROP_W), slice(0, CROP_W + dx))
        )
        out[i, 0][yd, xd] = src[ys, xs]
    gain = rng.uniform(0.6, 1.2, size=(len(x), 1, 1, 1)).astype(np.float32)
    return np.clip(out * gain, 0.0, 1.0)


def predict(model: Any, x: np.ndarray, batch: int = 512) -> np.ndarray:
    """P(handwritten) of uint8 crops (N x H x W) by a torch model."""
    import torch

    model.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(x), batch):
            xb = torch.from_numpy(x[i : i + batch, None].astype(np.float32) / 255.0)
            out.append(torch.sigmoid(model(xb)).numpy())
    return np.concatenate(out) if out else np.zeros(0, np.float32)


def scores(p: np.ndarray, y: np.ndarray, threshold: float) -> dict[str, float]:
    """Precision, recall and F1 of 'handwritten' at ``threshold`` (labels 0/1 only), and ROC AUC."""
    call = p >= threshold
    tp, fp, fn = int((call & (y == 1)).sum()), int((call & (y == 0)).sum()), int((~call & (y == 1)).sum())
    prec, rec = tp / max(1, tp + fp), tp / max(1, tp + fn)
    order = np.argsort(p)
    ranks = np.empty(len(p))
    ranks[order] = np.arange(1, len(p) + 1)
    pos = int((y == 1).sum())
    neg = len(y) - pos
    auc = (ranks[y == 1].sum() - pos * (pos + 1) / 2) / max(1, pos * neg)
    return {
        "precision": prec,
        "recall": rec,
        "f1": 2 * prec * rec / max(1e-9, prec + rec),
        "auc": float(auc),
        "printed_dropped_share": fp / max(1, int((y == 0).sum())),
    }


def choose_threshold(p: np.ndarray, y: np.ndarray, precision: float) -> float:
    """The lowest threshold (in steps of 0.01, from 0.5) at which the precision of 'handwritten'
    on validation reaches ``precision``; 0.99 where none does."""
    for t in np.arange(0.5, 0.995, 0.01):
        call = p >= t
        if call.any() and float((y[call] == 1).mean()) >= precision:
            return round(float(t), 2)
    return 0.99


def train(
    params: HandParams, out: Path, tracking_uri: str | None = None, progress: bool = True
) -> dict[str, Any]:
    """Train, choose the threshold, export ``out`` (ONNX) and write its draft card beside it."""
    import torch
    from tqdm import tqdm

    from models.cards import draft_card
    from models.hand.data import split_words
    from models.tracking import tracked_run

    torch.manual_seed(params.seed)
    random.seed(params.seed)
    rng = np.random.default_rng(params.seed)
    torch.set_num_threads(params.threads)
    tr = split_words("train", params.train_pages)
    va = split_words("val", params.val_pages)
    keep = tr["y"] != 2  # words in a signature's box: unsure, left out
    x, y = tr["x"][keep], tr["y"][keep].astype(np.float32)
    vk = va["y"] != 2
    vx, vy = va["x"][vk], va["y"][vk].astype(np.int64)
    digest = hashlib.sha256(x.tobytes() + y.tobytes()).hexdigest()[:16]
    pos = float(y.sum())
    pos_weight = float(np.sqrt((len(y) - pos) / max(1.0, pos)))
    log.info("%d training words (%d handwritten), %d validation words", len(y), int(pos), len(vy))
    model = build_model()
    opt = torch.optim.AdamW(model.parameters(), lr=params.lr, weight_decay=1e-4)
    steps = params.epochs * int(np.ceil(len(y) / params.batch_size))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=params.lr, total_steps=steps)
    loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor(pos_weight))
    run_params = {
        **asdict(params),
        "train_words": len(y),
        "train_handwritten": int(pos),
        "dataset_sha256": digest,
    }
    with tracked_run("handwriting", run_params, tracking_uri=tracking_uri) as t:
        for epoch in range(params.epochs):
            model.train()
            order = rng.permutation(len(y))
            total = 0.0
            bar = tqdm(
                range(0, len(y), params.batch_size),
                desc=f"epoch {epoch + 1}/{params.epochs}",
                disable=not progress,
                leave=False,
            )
            for i in bar:
                idx = order[i : i + params.batch_size]
                xb = torch.from_numpy(_augment(x[idx, None].astype(np.float32) / 255.0, rng))
                loss = loss_fn(model(xb), torch.from_numpy(y[idx]))
                opt.zero_grad()
                loss.backward()
                opt.step()
                sched.step()
                total += float(loss.detach()) * len(idx)
            pv = predict(model, vx)
            s = scores(pv, vy, 0.5)
            t.metrics({"train_loss": total / len(y), **{f"val_{k}": v for k, v in s.items()}}, step=epoch)
            log.info(
                "epoch %d loss %.4f val %s", epoch + 1, total / len(y), {k: round(v, 4) for k, v in s.items()}
            )
        pv = predict(model, vx)
        threshold = choose_threshold(pv, vy, params.precision)
        final = scores(pv, vy, threshold)
        t.metrics({"threshold": threshold, **{f"val_at_threshold_{k}": v for k, v in final.items()}})
        meta = {
            "name": NAME,
            "version": params.version,
            "threshold": f"{threshold:.2f}",
            "crop": json.dumps([CROP_H, CROP_W]),
            "run_id": t.run_id,
            "dataset_sha256": digest,
            "trained_on": f"word crops of the corpus's train scans ({params.train_pages} specs), seed {params.seed}",
            "exported_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        export_onnx(model, out, meta)
        t.artifact(out, "onnx")
        card = draft_card(
            out.with_suffix(".draft.md"),
            name=NAME,
            version=params.version,
            kind="handwriting word classifier",
            run_id=t.run_id,
            params=run_params,
            metrics={"threshold": threshold, **final},
            data=f"Word crops Tesseract read on the corpus's train scans ({len(y)} words, {int(pos)} handwritten); "
            f"validation: {len(vy)} words of the val split's scans.",
        )
        t.artifact(card, "onnx")
        # Registered as a candidate like the other models the devices run, with golden pages
        # made of validation crops (some handwritten) for the device's self-test before a swap.
        from edge.rollout import write_golden

        pick = np.r_[np.nonzero(vy == 1)[0][:8], np.nonzero(vy == 0)[0][:8]]
        golden = write_golden(
            out.with_name(out.stem + ".golden.npz"),
            out,
            [{"crops": vx[pick, None].astype(np.float32) / 255.0}],
        )
        version = t.register_onnx(out, NAME, card=card, golden=golden, kind="handwriting")
        log.info("registered %s version %s (alias candidate)", NAME, version)
    return {"threshold": threshold, **final, "run_id": t.run_id, "registered_version": version}


def export_onnx(model: Any, out: Path, meta: dict[str, str]) -> None:
    """ONNX (opset 13, dynamic batch) with ``meta`` in the file, checked, and ONNX Runtime's
    output compared with torch's on random crops (to 1e-4)."""
    import onnx
    import onnxruntime as ort
    import torch

    model.eval()
    out.parent.mkdir(parents=True, exist_ok=True)
    probe = torch.rand(4, 1, CROP_H, CROP_W)
    with torch.no_grad():
        torch.onnx.export(
            model,
            (probe,),
            str(out),
            input_names=["crops"],
            output_names=["logit"],
            dynamic_axes={"crops": {0: "batch"}, "logit": {0: "batch"}},
            opset_version=13,
            dynamo=False,
        )
        want = model(probe).numpy()
    m = onnx.load(str(out))
    del m.metadata_props[:]
    for k, v in meta.items():
        entry = m.metadata_props.add()
        entry.key, entry.value = k, v
    onnx.checker.check_model(m)
    onnx.save(m, str(out))
    got = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"]).run(
        None, {"crops": probe.numpy()}
    )[0]
    diff = float(np.abs(got - want).max())
    if diff > 1e-4:
        raise RuntimeError(f"ONNX Runtime differs from torch by {diff:.2e} (tolerance 1e-4)")
    log.info("exported %s (%.0f KB), ONNX Runtime within %.1e of torch", out, out.stat().st_size / 1024, diff)
