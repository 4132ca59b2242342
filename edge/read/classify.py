"""Document-type classifier at the edge: ``tokenizers`` + ONNX Runtime, no torch.

The ONNX file carries what it needs in its metadata: the labels, the calibration temperature (one
for all pages and, where the model was calibrated per capture profile, one per profile), the
maximum sequence length, its name and version, and the tokenizer itself (a WordPiece
``tokenizer.json``), so a model rolled out to a device is one self-describing file. A tokenizer
file next to the model (``<stem>.tokenizer.json``) is used when the metadata has none.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge.contract import DOC_TYPES, DocType
from edge.read.onnx_cpu import cpu_session

log = logging.getLogger(__name__)


class ClassifierUnavailable(RuntimeError):
    """The classifier file is missing or unusable; the message says why."""


@dataclass(frozen=True)
class ClassifierInfo:
    name: str
    version: str
    labels: tuple[str, ...]
    temperature: float
    max_length: int
    # Per capture profile ("scan", "webcam"): a scan's text and a webcam frame's text are read
    # with very different noise, so one temperature leaves one of them miscalibrated.
    temperatures: tuple[tuple[str, float], ...] = ()

    def temperature_for(self, profile: str | None) -> float:
        return dict(self.temperatures).get(profile or "", self.temperature)


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Row-wise softmax of logits divided by the temperature (numerically stable)."""
    z = np.asarray(logits, dtype=np.float64) / max(temperature, 1e-6)
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def clean_text(text: str) -> str:
    """The text the classifier sees: whitespace collapsed, OCR rule lines dropped."""
    text = re.sub(r"[_=~\-.]{4,}", " ", text)
    return re.sub(r"\s+", " ", text).strip()


class DocClassifier:
    """Load once per process; ``predict`` is thread-compatible (ONNX Runtime sessions are)."""

    def __init__(self, path: Path, threads: int = 1) -> None:
        try:  # ONNX Runtime's absence is reported by cpu_session
            from tokenizers import Tokenizer
        except ImportError as exc:  # pragma: no cover - the edge extra installs it
            raise ClassifierUnavailable(f"backend unavailable: {exc}") from exc
        path = Path(path)
        self.session, meta = cpu_session(path, threads, "classifier model", ClassifierUnavailable)
        try:
            labels = tuple(json.loads(meta["labels"]))
            self.info = ClassifierInfo(
                name=meta.get("name", path.stem),
                version=meta.get("version", "unknown"),
                labels=labels,
                temperature=float(meta.get("temperature", "1.0")),
                max_length=int(meta.get("max_length", "256")),
                temperatures=tuple(
                    sorted((str(k), float(v)) for k, v in json.loads(meta.get("temperatures", "{}")).items())
                ),
            )
        except (KeyError, ValueError) as exc:
            raise ClassifierUnavailable(f"classifier {path} lacks metadata ({exc})") from exc
        unknown = set(self.info.labels) - set(DOC_TYPES)
        if unknown:
            raise ClassifierUnavailable(
                f"classifier {path} has labels outside the contract: {sorted(unknown)}"
            )
        tok_json = meta.get("tokenizer_json")
        if tok_json:
            self.tokenizer = Tokenizer.from_str(tok_json)
        else:
            side = path.with_name(path.name.split(".")[0] + ".tokenizer.json")
            if not side.is_file():
                raise ClassifierUnavailable(f"no tokenizer in {path} metadata and no {side}")
            self.tokenizer = Tokenizer.from_file(str(side))
        self.tokenizer.enable_truncation(self.info.max_length)
        self.tokenizer.no_padding()
        self.inputs = {i.name for i in self.session.get_inputs()}

    def logits(self, texts: list[str]) -> np.ndarray:
        """Raw logits for a batch of texts (before temperature)."""
        encs = self.tokenizer.encode_batch([clean_text(t) for t in texts])
        n = max(len(e.ids) for e in encs)
        ids = np.zeros((len(encs), n), dtype=np.int64)
        mask = np.zeros((len(encs), n), dtype=np.int64)
        for i, e in enumerate(encs):
            ids[i, : len(e.ids)] = e.ids
            mask[i, : len(e.ids)] = 1
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self.inputs:
            feed["token_type_ids"] = np.zeros_like(ids)
        out = self.session.run(None, feed)[0]
        return np.asarray(out, dtype=np.float32)

    def probabilities(self, texts: list[str], profile: str | None = None) -> np.ndarray:
        """Calibrated probabilities, one row per text, columns in ``info.labels`` order, with the
        temperature of the capture ``profile`` the texts came from (the overall one if none)."""
        return softmax(self.logits(texts), self.info.temperature_for(profile))

    def predict(self, text: str, review_threshold: float, profile: str | None = None) -> DocType:
        """The document type of one page's text, with calibrated confidence and review flag."""
        probs = self.probabilities([text], profile)[0]
        best = int(np.argmax(probs))
        conf = float(probs[best])
        scores = {lab: round(float(p), 4) for lab, p in zip(self.info.labels, probs, strict=False)}
        return DocType(
            label=self.info.labels[best],
            confidence=min(1.0, max(0.0, conf)),
            needs_review=conf < review_threshold,
            scores=scores,
        )
