"""Fine-tune the document-type classifier on cached OCR text, calibrate it, and save a checkpoint.

Outputs (``var/classifier/model/``): ``weights.pt`` (state dict), ``config.json`` (encoder shape),
``tokenizer.json`` (pruned WordPiece), ``meta.json`` (labels, temperature, max length, version,
scores). ``export/classifier_export.py`` turns that into the shipped ONNX files.
"""

from __future__ import annotations

import json
import logging
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from edge.contract import DOC_TYPES
from edge.read.classify import clean_text, softmax
from models.classifier import calibration as cal
from models.classifier.data import load_cached
from models.classifier.model import build_model, prune_vocab

log = logging.getLogger(__name__)

MODEL_DIR = Path("var/classifier/model")
LABELS = list(DOC_TYPES)


@dataclass
class TrainParams:
    layers: int = 4
    max_length: int = 128
    epochs: int = 8
    batch_size: int = 16
    lr: float = 2e-4
    head_lr: float = 5e-3
    augment: int = 2  # noisy copies per training page
    freeze_layers: int = 2  # embeddings and the first layers stay as pretrained (faster on CPU)
    seed: int = 0
    threads: int = 2
    mix: tuple[str, ...] = ()  # labelled folders mixed into training (`signet models dataset --from-reviews`)
    mix_repeat: int = 3  # each mixed page counts this many times (field pages are few and real)


def mixed_records(folders: tuple[str, ...] | list[str]) -> list[dict[str, Any]]:
    """Pages of labelled folders in the corpus format (``meta/<id>.json`` with ``text`` and
    ``doc_type``), as training records; pages without text or with an unknown type are skipped
    with a count, never guessed."""
    out: list[dict[str, Any]] = []
    for folder in folders:
        meta_dir = Path(folder) / "meta"
        if not meta_dir.is_dir():
            raise FileNotFoundError(f"--mix {folder}: no meta/ folder (not a corpus or review export)")
        skipped = 0
        for f in sorted(meta_dir.glob("*.json")):
            m = json.loads(f.read_text(encoding="utf-8"))
            text, label = (m.get("text") or "").strip(), m.get("doc_type")
            if not text or label not in LABELS:
                skipped += 1
                continue
            out.append({"id": m.get("id", f.stem), "doc_type": label, "text": text, "source": "mix"})
        log.info("mixing %d pages from %s (%d skipped: no text or unknown type)", len(out), folder, skipped)
    return out


def extra_words() -> list[str]:
    """A general English and French word list (Faker's), so everyday words outside the corpus keep
    whole tokens after vocabulary pruning."""
    from faker.providers.lorem.en_US import Provider as En
    from faker.providers.lorem.fr_FR import Provider as Fr

    words = list(En.word_list) + list(Fr.word_list)
    return words + [w.capitalize() for w in words]


def augment(text: str, rng: random.Random) -> str:
    """An OCR-noisier, possibly partial copy: dropped words, swapped characters, a cut-off end."""
    words = text.split()
    if not words:
        return text
    out = []
    for w in words:
        r = rng.random()
        if r < 0.06:
            continue
        if r < 0.12 and len(w) > 3:
            i = rng.randrange(len(w))
            w = w[:i] + rng.choice("lI1rnmoc0e.,") + w[i + 1 :]
        out.append(w)
    if rng.random() < 0.3:
        out = out[: max(8, int(len(out) * rng.uniform(0.3, 0.9)))]
    return " ".join(out)


def encode(tokenizer: Any, texts: list[str], max_length: int) -> tuple[torch.Tensor, torch.Tensor]:
    tokenizer.enable_truncation(max_length)
    encs = tokenizer.encode_batch([clean_text(t) for t in texts])
    n = max(len(e.ids) for e in encs)
    ids = torch.zeros((len(encs), n), dtype=torch.long)
    mask = torch.zeros((len(encs), n), dtype=torch.long)
    for i, e in enumerate(encs):
        ids[i, : len(e.ids)] = torch.tensor(e.ids)
        mask[i, : len(e.ids)] = 1
    return ids, mask


@torch.no_grad()
def predict_logits(
    model: nn.Module, tokenizer: Any, texts: list[str], max_length: int, batch: int = 32
) -> np.ndarray:
    model.eval()
    out = []
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    for k in range(0, len(order), batch):
        idx = order[k : k + batch]
        ids, mask = encode(tokenizer, [texts[i] for i in idx], max_length)
        out.append((idx, model(ids, mask).numpy()))
    logits = np.zeros((len(texts), len(LABELS)), dtype=np.float32)
    for idx, lg in out:
        logits[idx] = lg
    return logits


def row_temperatures(profiles: list[str], temperatures: dict[str, float], default: float) -> np.ndarray:
    """Each row's temperature: its capture profile's where one was fitted, else ``default``."""
    return np.array([temperatures.get(p, default) for p in profiles], dtype=np.float64)


def scores(logits: np.ndarray, labels: np.ndarray, temperature: float | np.ndarray) -> dict[str, float]:
    """Scores at one temperature, or at one temperature per row (per-profile calibration)."""
    scaled = np.asarray(logits, dtype=np.float64) / np.asarray(temperature, dtype=np.float64).reshape(-1, 1)
    probs = softmax(scaled, 1.0)
    pred = probs.argmax(1)
    return {
        "accuracy": cal.accuracy(pred, labels),
        "macro_f1": cal.macro_f1(pred, labels, len(LABELS)),
        "ece": cal.ece(probs, labels),
        "nll": cal.nll(scaled, labels, 1.0),
    }


def fit_profile_temperatures(
    logits: np.ndarray,
    labels: np.ndarray,
    profiles: list[str],
    min_pages: int = 20,
    pooled: float | None = None,
) -> dict[str, float]:
    """A temperature per capture profile with at least ``min_pages`` validation pages.

    A profile whose validation pages are all classified right says nothing about how sure to
    be when it is wrong: its own fit stops at 1.0 (see ``fit_temperature``), and the synthetic
    scans, all right, made the real scans' errors near-certain (3 of the 11 real documents
    wrong at p 0.94-1.00, none sent to review). Such a profile takes the ``pooled`` temperature
    (fitted on every validation page, the other profile's errors included) when that is softer."""
    out = {}
    prof = np.array(profiles)
    for p in sorted(set(profiles)):
        sel = prof == p
        if int(sel.sum()) >= min_pages:
            t = cal.fit_temperature(logits[sel], labels[sel])
            if pooled is not None and cal.no_errors(logits[sel], labels[sel]):
                t = max(t, pooled)
            out[str(p)] = t
    return out


def train(
    params: TrainParams,
    out_dir: Path = MODEL_DIR,
    on_epoch: Callable[[int, dict[str, float]], None] | None = None,
) -> dict[str, Any]:
    """Train, calibrate on val, score on test; save the checkpoint; return the scores."""
    from tokenizers import Tokenizer

    torch.manual_seed(params.seed)
    torch.set_num_threads(params.threads)
    rng = random.Random(params.seed)
    # The test split is read after training: its cache may still be filling meanwhile.
    data = {s: load_cached(s) for s in ("train", "val")}
    for split, recs in data.items():
        if not recs:
            raise RuntimeError(
                f"no cached OCR text for the {split} split: run `signet models train-classifier --pages ...` first"
            )
    if params.mix:
        data["train"] = data["train"] + mixed_records(params.mix) * max(1, params.mix_repeat)
    keep, tj = prune_vocab([r["text"] for r in data["train"]], extra_words())
    tokenizer = Tokenizer.from_str(json.dumps(tj))
    log.info("vocabulary pruned to %d tokens", len(keep))
    model = build_model(keep, len(LABELS), params.layers)

    texts, labels = [], []
    for r in data["train"]:
        y = LABELS.index(r["doc_type"])
        texts.append(r["text"])
        labels.append(y)
        for _ in range(params.augment):
            texts.append(augment(r["text"], rng))
            labels.append(y)
    y_train = np.array(labels)
    val_texts = [r["text"] for r in data["val"]]
    y_val = np.array([LABELS.index(r["doc_type"]) for r in data["val"]])

    # Frozen lower layers: half the backward pass on a shared CPU, and the pretrained lexical
    # features are what a document's type needs most.
    frozen = ["encoder.embeddings."] + [f"encoder.encoder.layer.{i}." for i in range(params.freeze_layers)]
    for n, p in model.named_parameters():
        if any(n.startswith(f) for f in frozen):
            p.requires_grad_(False)
    head = list(model.head.parameters())
    body = [p for n, p in model.named_parameters() if not n.startswith("head.") and p.requires_grad]
    opt = torch.optim.AdamW(
        [{"params": body, "lr": params.lr}, {"params": head, "lr": params.head_lr}], weight_decay=0.01
    )
    steps = params.epochs * ((len(texts) + params.batch_size - 1) // params.batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=[params.lr, params.head_lr], total_steps=steps, pct_start=0.1
    )
    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.0)
    history = []
    for epoch in range(params.epochs):
        model.train()
        t0 = time.perf_counter()
        order = list(range(len(texts)))
        rng.shuffle(order)
        total = 0.0
        for k in range(0, len(order), params.batch_size):
            idx = order[k : k + params.batch_size]
            ids, mask = encode(tokenizer, [texts[i] for i in idx], params.max_length)
            loss = loss_fn(model(ids, mask), torch.tensor(y_train[idx]))
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
        val_logits = predict_logits(model, tokenizer, val_texts, params.max_length)
        m = {
            "train_loss": total / len(order),
            **{f"val_{k}": v for k, v in scores(val_logits, y_val, 1.0).items()},
        }
        m["epoch_s"] = time.perf_counter() - t0
        history.append(m)
        log.info("epoch %d: %s", epoch + 1, {k: round(v, 4) for k, v in m.items()})
        if on_epoch:
            on_epoch(epoch, m)

    val_logits = predict_logits(model, tokenizer, val_texts, params.max_length)
    temperature = cal.fit_temperature(val_logits, y_val)
    val_profiles = [r.get("profile", "") for r in data["val"]]
    temperatures = fit_profile_temperatures(val_logits, y_val, val_profiles, pooled=temperature)
    data["test"] = load_cached("test")
    if not data["test"]:
        raise RuntimeError("no cached OCR text for the test split")
    test_texts = [r["text"] for r in data["test"]]
    y_test = np.array([LABELS.index(r["doc_type"]) for r in data["test"]])
    test_logits = predict_logits(model, tokenizer, test_texts, params.max_length)
    test_profiles = np.array([r.get("profile", "") for r in data["test"]])
    test_t = row_temperatures(list(test_profiles), temperatures, temperature)
    val_t = row_temperatures(val_profiles, temperatures, temperature)
    val_probs = softmax(val_logits / val_t.reshape(-1, 1), 1.0)
    by_profile = {}
    for prof in sorted(set(test_profiles)):
        sel = test_profiles == prof
        by_profile[str(prof)] = scores(test_logits[sel], y_test[sel], test_t[sel])
    result = {
        # what this version predicts on its validation set: the reference the cloud measures
        # document-type and confidence drift in the field against
        "validation_predictions": {
            "doc_types": [LABELS[int(i)] for i in val_probs.argmax(1)],
            "confidences": [float(v) for v in val_probs.max(1)],
        },
        "temperature": temperature,
        "temperatures": temperatures,
        "val_uncalibrated": scores(val_logits, y_val, 1.0),
        "test_uncalibrated": scores(test_logits, y_test, 1.0),
        "test_single_temperature": scores(test_logits, y_test, temperature),
        "test": scores(test_logits, y_test, test_t),
        "test_by_profile": by_profile,
        "vocab_size": len(keep),
        "pages": {s: len(v) for s, v in data.items()},
        "history": history,
    }
    version = "minilm-l{}-v{}".format(params.layers, datetime.now(timezone.utc).strftime("%Y%m%d%H%M"))
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), out_dir / "weights.pt")
    (out_dir / "config.json").write_text(model.encoder.config.to_json_string(), encoding="utf-8")
    (out_dir / "tokenizer.json").write_text(json.dumps(tj, ensure_ascii=False), encoding="utf-8")
    meta = {
        "name": "signet-doctype",
        "version": version,
        "labels": LABELS,
        "temperature": temperature,
        "temperatures": temperatures,
        "max_length": params.max_length,
        "layers": params.layers,
        "params": params.__dict__,
        "scores": {k: v for k, v in result.items() if k not in ("history", "validation_predictions")},
    }
    (out_dir / "meta.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
    result["version"] = version
    return result


def misclassified(records: list[dict[str, Any]], probs: np.ndarray) -> list[str]:
    """Short lines naming each wrong prediction (for the logs and the model card)."""
    out = []
    for r, p in zip(records, probs, strict=False):
        pred = LABELS[int(p.argmax())]
        if pred != r["doc_type"]:
            head = re.sub(r"\s+", " ", r["text"])[:70]
            out.append(
                f"{r['id']} ({r['profile']}/{r['lang']}): {r['doc_type']} -> {pred} p={p.max():.2f} | {head}"
            )
    return out
