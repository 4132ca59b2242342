"""``signet export ...``: subcommands load from the module that owns them."""

from __future__ import annotations

from signet.cli import lazy_group

export = lazy_group(
    "export",
    "Export models to ONNX and TensorRT.",
    {
        "onnx": "export.onnx_export:onnx_cmd",
        "tensorrt": "export.tensorrt_build:tensorrt_cmd",
        "classifier": "export.classifier_export:classifier_cmd",
    },
)
