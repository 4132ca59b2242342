"""ONNX Runtime backend: TensorRT, CUDA or CPU execution providers, whichever are present."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from edge.detect import BackendUnavailable
from edge.detect.base import BaseDetector
from edge.detect.meta import ModelMeta

if TYPE_CHECKING:
    from edge.config import DetectorConfig

log = logging.getLogger(__name__)


def _import_ort() -> Any:
    try:
        import onnxruntime
    except ImportError as exc:
        raise BackendUnavailable(f"onnxruntime is not installed ({exc}); pip install 'signet[edge]'") from exc
    return onnxruntime


def read_meta(model: Path) -> ModelMeta:
    """Metadata stored in an ONNX model file, read through ONNX Runtime (no onnx package needed)."""
    ort = _import_ort()
    sess = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    return ModelMeta.from_props(dict(sess.get_modelmeta().custom_metadata_map))


class OnnxDetector(BaseDetector):
    """Signature detector running an exported ONNX model with ONNX Runtime."""

    def __init__(self, cfg: DetectorConfig) -> None:
        ort = _import_ort()
        model = Path(cfg.model)
        if not model.is_file():
            raise FileNotFoundError(f"detector model not found: {model}")
        present = set(ort.get_available_providers())
        wanted = list(cfg.providers)
        providers = [p for p in wanted if p in present]
        absent = [p for p in wanted if p not in present]
        if not providers:
            raise BackendUnavailable(
                f"none of the ONNX Runtime providers {wanted} is present (have {sorted(present)})"
            )
        if absent:
            # Providers are an order of preference: a listed-but-absent one is skipped loudly.
            log.warning("ONNX Runtime providers not present here, skipped: %s", ", ".join(absent))
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = cfg.threads
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(model), sess_options=opts, providers=providers)
        meta = ModelMeta.from_props(dict(self.session.get_modelmeta().custom_metadata_map))
        super().__init__(meta, cfg.score_threshold)
        self.providers = self.session.get_providers()
        self._input = self.session.get_inputs()[0].name
        self._input_type = self.session.get_inputs()[0].type
        self._outputs = list(meta.outputs)

    def infer(self, tensor: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One forward pass; an FP16 model gets its input cast and its outputs cast back."""
        if self._input_type == "tensor(float16)":
            tensor = tensor.astype(np.float16)
        heatmap, ltrb = self.session.run(self._outputs, {self._input: tensor})
        return np.asarray(heatmap, np.float32), np.asarray(ltrb, np.float32)
