"""Small real ONNX models for lifecycle tests: ``y = x * scale + bias`` over a 1x4 float input."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def build_tiny_onnx(path: Path, scale: float = 2.0, bias: float = 0.5, version: str = "1") -> Path:
    """Write a valid ONNX model; different ``scale``/``bias`` make different (and differently hashed) versions."""
    import onnx
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 4])
    s = helper.make_tensor("scale", TensorProto.FLOAT, [4], [scale] * 4)
    b = helper.make_tensor("bias", TensorProto.FLOAT, [4], [bias] * 4)
    graph = helper.make_graph(
        [helper.make_node("Mul", ["x", "scale"], ["t"]), helper.make_node("Add", ["t", "bias"], ["y"])],
        "tiny",
        [x],
        [y],
        [s, b],
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="signet-tests"
    )
    model.ir_version = 8
    helper.set_model_props(model, {"version": version, "kind": "detector"})
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


def golden_inputs() -> list[dict[str, np.ndarray]]:
    """Two golden 'pages' already in the model's input form."""
    return [
        {"x": np.array([[0.0, 1.0, 2.0, 3.0]], dtype=np.float32)},
        {"x": np.array([[0.5, -1.0, 4.0, 0.25]], dtype=np.float32)},
    ]
