"""Training loop for the signature detector: fixed seed, resumable checkpoints, CPU or CUDA,
EMA weights, cosine learning rate, per-epoch validation on the synthetic val split."""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader

from edge.detect.postprocess import decode
from edge.detect.preprocess import Letterbox
from models.detector.dataset import CanvasCache, PageRecord, TrainSet, folder_hash, scan_folder
from models.detector.losses import detector_loss
from models.detector.metrics import PagePred, box_metrics
from models.detector.model import STRIDE, ModelSpec, SignatureNet

log = logging.getLogger(__name__)


@dataclass
class TrainConfig:
    """Everything that determines a training run (logged as MLflow params)."""

    train_dir: str = "var/detector/data/train"
    val_dir: str = "var/detector/data/val"
    out_dir: str = "var/detector/runs/default"
    input_size: int = 640
    crop: int = 384
    width: float = 1.0
    epochs: int = 12
    batch_size: int = 16
    lr: float = 3e-3
    weight_decay: float = 5e-4
    warmup_steps: int = 100
    ema_decay: float = 0.998
    seed: int = 1234
    device: str = "cpu"
    threads: int = 2
    workers: int = 1
    max_minutes: float = 0.0  # 0: no time budget; otherwise stop after the epoch that passes it
    val_pages: int = 100  # pages validated after each epoch (the final threshold uses them all)
    init_from: str = ""  # an exported detector ONNX to start from (e.g. production); "" : scratch
    mix: tuple[str, ...] = ()  # labelled folders mixed in (e.g. `signet models dataset --from-reviews`)
    mix_repeat: int = 3  # each mixed page is seen this many times per epoch (field pages are few)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


class Ema:
    """Exponential moving average of the weights; the EMA model is the one exported."""

    def __init__(self, model: torch.nn.Module, decay: float) -> None:
        self.decay = decay
        self.shadow = {k: v.detach().clone() for k, v in model.state_dict().items()}
        self.updates = 0

    @torch.no_grad()
    def update(self, model: torch.nn.Module) -> None:
        self.updates += 1
        d = self.decay * (1 - math.exp(-self.updates / 300))  # ramp up early, as YOLOv5 does
        for k, v in model.state_dict().items():
            if v.dtype.is_floating_point:
                self.shadow[k].mul_(d).add_(v.detach(), alpha=1 - d)
            else:
                self.shadow[k].copy_(v)


@torch.no_grad()
def predict_canvases(
    model: torch.nn.Module, images: np.ndarray, device: str, batch: int = 8, threshold: float = 0.05
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Run the model on letterboxed canvases (N x S x S x 3 uint8); boxes normalised to the canvas."""
    model.eval()
    s = images.shape[1]
    ident = Letterbox(1.0, 0, 0, s, s)
    out = []
    for i in range(0, len(images), batch):
        x = torch.from_numpy(np.ascontiguousarray(images[i : i + batch])).to(device)
        x = (x.permute(0, 3, 1, 2).float() / 255.0 - 0.5) / 0.5
        hm, lt = model(x)
        for h, r in zip(hm.cpu().numpy(), lt.cpu().numpy(), strict=False):
            out.append(decode(h, r, ident, STRIDE, threshold))
    return out


def validate(
    model: torch.nn.Module, cache: CanvasCache, device: str, threshold: float = 0.35, limit: int = 0
) -> tuple[dict[str, float], list[PagePred]]:
    """Box metrics on (the first ``limit``, 0: all) cached validation canvases."""
    n = limit or len(cache)
    preds = predict_canvases(model, np.asarray(cache.images[:n]), device)
    s = cache.size
    pages = [PagePred(b, sc, gt / s) for (b, sc), gt in zip(preds, cache.boxes[:n], strict=False)]
    return box_metrics(pages, threshold), pages


def training_records(cfg: TrainConfig) -> list[PageRecord]:
    """The corpus pages plus every page of the ``mix`` folders, each repeated ``mix_repeat``
    times: reviewers' corrections are real pages, rare next to the corpus, so they weigh more."""
    recs = scan_folder(Path(cfg.train_dir)) if Path(cfg.train_dir).is_dir() else []
    for folder in cfg.mix:
        if not Path(folder).is_dir():
            raise FileNotFoundError(f"--mix {folder}: not a folder")
        extra = scan_folder(Path(folder))
        log.info("mixing %d pages from %s (x%d)", len(extra), folder, cfg.mix_repeat)
        recs += extra * max(1, cfg.mix_repeat)
    return recs


def build_model(cfg: TrainConfig) -> SignatureNet:
    return SignatureNet(ModelSpec(input_size=cfg.input_size, width=cfg.width))


def train(
    cfg: TrainConfig,
    resume: Path | None = None,
    on_epoch: Callable[[int, dict[str, float]], None] | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Train; returns a summary (best checkpoint path, best metrics, dataset hash)."""
    from tqdm import tqdm

    seed_everything(cfg.seed)
    torch.set_num_threads(cfg.threads)
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    cache_dir = Path("var/detector/cache")
    train_recs, val_recs = training_records(cfg), scan_folder(Path(cfg.val_dir))
    if not train_recs:
        raise FileNotFoundError(f"no training pages in {cfg.train_dir} (run `signet data generate`)")
    dataset_hash = folder_hash(train_recs)
    train_cache = CanvasCache(train_recs, cfg.input_size, cache_dir)
    val_cache = CanvasCache(val_recs, cfg.input_size, cache_dir)
    ds = TrainSet(train_cache, cfg.crop, cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    model = build_model(cfg)
    if cfg.init_from and resume is None:
        from models.detector.warmstart import init_from_onnx

        pick = np.random.default_rng(cfg.seed).permutation(len(train_cache))[:32]
        x = torch.from_numpy(np.stack([train_cache.images[int(i)] for i in pick]))
        init_from_onnx(model, Path(cfg.init_from), (x.permute(0, 3, 1, 2).float() / 255.0 - 0.5) / 0.5)
    model = model.to(cfg.device)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    ema = Ema(model, cfg.ema_decay)
    steps_per_epoch = math.ceil(len(ds) / cfg.batch_size)
    total = steps_per_epoch * cfg.epochs
    start_epoch, step, best = 0, 0, {"map50": -1.0}
    history: list[dict[str, float]] = []
    if resume is not None and Path(resume).is_file():
        ck = torch.load(str(resume), map_location=cfg.device, weights_only=False)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        ema.shadow = {k: v.to(cfg.device) for k, v in ck["ema"].items()}
        ema.updates = ck["ema_updates"]
        start_epoch, step, best = ck["epoch"] + 1, ck["step"], ck.get("best", best)
        torch.set_rng_state(ck["torch_rng"])
        history = list(ck.get("history", []))
        log.info("resumed from %s at epoch %d", resume, start_epoch)

    def lr_at(k: int) -> float:
        if k < cfg.warmup_steps:
            return cfg.lr * (k + 1) / cfg.warmup_steps
        return cfg.lr * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * min(1.0, k / max(total, 1)))))

    t0 = time.monotonic()
    for epoch in range(start_epoch, cfg.epochs):
        ds.epoch = epoch
        loader = DataLoader(
            ds,
            batch_size=cfg.batch_size,
            shuffle=True,
            num_workers=cfg.workers,
            generator=gen,
            drop_last=True,
            persistent_workers=False,
        )
        model.train()
        sums: dict[str, float] = {"loss": 0.0, "loss_heatmap": 0.0, "loss_giou": 0.0}
        n = 0
        bar = tqdm(loader, desc=f"epoch {epoch + 1}/{cfg.epochs}", disable=not progress, leave=False)
        for batch in bar:
            batch = {k: v.to(cfg.device, non_blocking=True) for k, v in batch.items()}
            for g in opt.param_groups:
                g["lr"] = lr_at(step)
            hm, lt = model(batch["image"])
            loss, parts = detector_loss(hm, lt, batch)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
            opt.step()
            ema.update(model)
            step += 1
            n += 1
            sums["loss"] += float(loss.detach())
            for k, v in parts.items():
                sums[k] += v
            bar.set_postfix(loss=f"{sums['loss'] / n:.3f}", lr=f"{lr_at(step):.1e}")
        eval_model = build_model(cfg).to(cfg.device)
        eval_model.load_state_dict(ema.shadow)
        metrics, _ = validate(eval_model, val_cache, cfg.device, limit=cfg.val_pages)
        row = {k: v / max(n, 1) for k, v in sums.items()}
        row.update({f"val_{k}": float(v) for k, v in metrics.items()})
        row["epoch"] = epoch + 1
        row["minutes"] = (time.monotonic() - t0) / 60
        history.append(row)
        log.info("epoch %d: %s", epoch + 1, {k: round(v, 4) for k, v in row.items()})
        ck = {
            "model": model.state_dict(),
            "optimizer": opt.state_dict(),
            "ema": ema.shadow,
            "ema_updates": ema.updates,
            "epoch": epoch,
            "step": step,
            "best": best,
            "torch_rng": torch.get_rng_state(),
            "spec": asdict(model.spec),
            "config": asdict(cfg),
            "dataset_hash": dataset_hash,
            "metrics": row,
            "history": history,  # every epoch so far, for a tracker that logs the run afterwards
        }
        torch.save(ck, out / "last.pt")
        if metrics["map50"] >= best["map50"]:
            best = {k: float(v) for k, v in metrics.items()}
            ck["best"] = best
            torch.save(ck, out / "best.pt")
        if on_epoch:
            on_epoch(epoch + 1, row)
        if cfg.max_minutes and (time.monotonic() - t0) / 60 > cfg.max_minutes:
            log.warning("time budget of %.0f min reached after epoch %d", cfg.max_minutes, epoch + 1)
            break
    return {
        "best_checkpoint": str(out / "best.pt"),
        "last_checkpoint": str(out / "last.pt"),
        "best": best,
        "dataset_hash": dataset_hash,
        "history": history,
    }
