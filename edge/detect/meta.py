"""The metadata a detector model carries with it (ONNX ``metadata_props`` / engine header).

Every value is stored as a string in ONNX, so each field is serialised as JSON under its own
key with a ``signet.`` prefix; unknown keys are ignored so newer exporters stay readable.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any

PREFIX = "signet."


class BadModelMetadata(ValueError):
    """The model file lacks the metadata the backends need, or it is malformed."""


@dataclass(frozen=True)
class ModelMeta:
    """What a backend needs to know about a detector model besides its weights."""

    name: str = "signet-detector"
    version: str = "0.0.0"
    input_name: str = "images"
    input_size: int = 512
    channels: int = 3
    channel_order: str = "BGR"
    mean: float = 0.5
    std: float = 0.5
    pad_value: int = 255
    stride: int = 8
    outputs: tuple[str, ...] = ("heatmap", "ltrb")
    class_names: tuple[str, ...] = ("signature",)
    score_threshold: float = 0.35
    nms_iou: float = 0.5
    max_detections: int = 50
    training_run_id: str = ""
    dataset_hash: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_props(self) -> dict[str, str]:
        """Serialise to string key/values (ONNX metadata_props, engine header)."""
        return {PREFIX + k: json.dumps(v) for k, v in asdict(self).items()}

    @classmethod
    def from_props(cls, props: dict[str, str]) -> ModelMeta:
        """Parse what :meth:`to_props` wrote; raises :class:`BadModelMetadata` when keys are missing."""
        known = {f.name for f in fields(cls)}
        values: dict[str, Any] = {}
        for key, raw in props.items():
            if not key.startswith(PREFIX) or key[len(PREFIX) :] not in known:
                continue
            try:
                values[key[len(PREFIX) :]] = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise BadModelMetadata(f"metadata {key!r} is not JSON: {exc}") from exc
        missing = {"input_size", "stride", "outputs", "score_threshold"} - values.keys()
        if missing:
            raise BadModelMetadata(f"model metadata lacks {sorted(missing)}: not a Signet detector export?")
        for k in ("outputs", "class_names"):
            if k in values:
                values[k] = tuple(values[k])
        return cls(**values)
