"""``signet export onnx``: the trained detector to ONNX with its metadata inside the file.

Checks on every export: ``onnx.checker``, and ONNX Runtime against PyTorch on the same input
(heatmap within ``ATOL_HEATMAP`` absolute, box distances within ``ATOL_LTRB`` pixels). An FP16
variant (weights, activations and I/O in half precision) is written beside it and checked more
loosely; it is what a GPU runtime without TensorRT's own FP16 builder would use.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import click
import numpy as np

from edge.detect.meta import ModelMeta

log = logging.getLogger(__name__)

OPSET = 17
#: Tolerances for ORT-vs-PyTorch equality: float32 kernels differ in summation order only.
ATOL_HEATMAP = 1e-4
ATOL_LTRB = 1e-2  # pixels
#: FP16: about 3 significant digits.
ATOL_HEATMAP_FP16 = 2e-2
ATOL_LTRB_FP16 = 1.0  # pixels


class ExportMismatch(AssertionError):
    """ONNX Runtime disagrees with PyTorch beyond the stated tolerance."""


def export_onnx(model: Any, meta: ModelMeta, out: Path, check: bool = True) -> dict[str, float]:
    """Export ``model`` (a SignatureNet) to ``out`` with ``meta``; return the max abs differences."""
    import onnx
    import torch

    model = model.eval().cpu()
    size = meta.input_size
    dummy = torch.zeros(1, 3, size, size)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp.onnx")
    # The legacy TorchScript exporter gives a compact static graph with plain ops for this model.
    torch.onnx.export(
        model,
        (dummy,),
        str(tmp),
        input_names=[meta.input_name],
        output_names=list(meta.outputs),
        opset_version=OPSET,
        do_constant_folding=True,
        dynamo=False,
    )
    proto = onnx.load(str(tmp))
    del proto.metadata_props[:]
    for k, v in meta.to_props().items():
        proto.metadata_props.add(key=k, value=v)
    proto.producer_name = "signet"
    proto.doc_string = (
        f"{meta.name} {meta.version}: signature detector (heatmap + ltrb at stride {meta.stride})"
    )
    onnx.checker.check_model(proto)
    onnx.save(proto, str(out))
    tmp.unlink(missing_ok=True)
    diffs: dict[str, float] = {}
    if check:
        diffs = compare_with_torch(model, out, meta, ATOL_HEATMAP, ATOL_LTRB)
    return diffs


def compare_with_torch(
    model: Any, onnx_path: Path, meta: ModelMeta, atol_hm: float, atol_ltrb: float
) -> dict[str, float]:
    """Run PyTorch and ONNX Runtime on the same (seeded random page-like) input and compare."""
    import onnxruntime as ort
    import torch

    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (1, 3, meta.input_size, meta.input_size)).astype(np.float32)
    with torch.no_grad():
        hm_t, lt_t = (t.numpy() for t in model.eval()(torch.from_numpy(x)))
    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    feed = x.astype(np.float16) if sess.get_inputs()[0].type == "tensor(float16)" else x
    hm_o, lt_o = (np.asarray(a, np.float32) for a in sess.run(list(meta.outputs), {meta.input_name: feed}))
    diffs = {"heatmap": float(np.abs(hm_o - hm_t).max()), "ltrb": float(np.abs(lt_o - lt_t).max())}
    if diffs["heatmap"] > atol_hm or diffs["ltrb"] > atol_ltrb:
        raise ExportMismatch(
            f"{onnx_path.name}: ONNX Runtime differs from PyTorch: heatmap {diffs['heatmap']:.2e} (tol {atol_hm}), "
            f"ltrb {diffs['ltrb']:.2e} px (tol {atol_ltrb})"
        )
    log.info("%s matches PyTorch: %s", onnx_path.name, diffs)
    return diffs


def to_fp16(src: Path, dst: Path) -> None:
    """Half-precision copy of an ONNX model: float32 initializers become float16 and the graph's
    input/outputs float16 (the backends cast at the boundary; TensorRT picks FP16 kernels)."""
    import onnx
    from onnx import TensorProto, numpy_helper

    proto = onnx.load(str(src))
    g = proto.graph
    # Resize takes its scales/roi as float32 whatever the data type: leave those constants alone.
    keep = {name for n in g.node if n.op_type == "Resize" for name in n.input[1:]}
    for i, init in enumerate(list(g.initializer)):
        if init.data_type == TensorProto.FLOAT and init.name not in keep:
            g.initializer[i].CopyFrom(
                numpy_helper.from_array(numpy_helper.to_array(init).astype(np.float16), init.name)
            )
    for node in g.node:
        if set(node.output) & keep:
            continue
        for a in node.attribute:
            if a.type == onnx.AttributeProto.TENSOR and a.t.data_type == TensorProto.FLOAT:
                a.t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(a.t).astype(np.float16)))
    for v in list(g.input) + list(g.output):
        if v.type.tensor_type.elem_type == TensorProto.FLOAT:
            v.type.tensor_type.elem_type = TensorProto.FLOAT16
    del g.value_info[:]
    onnx.checker.check_model(proto)
    onnx.save(proto, str(dst))


def load_checkpoint_model(checkpoint: Path) -> tuple[Any, dict[str, Any]]:
    """A SignatureNet and the checkpoint dict (spec, meta fields, weights) from a training checkpoint."""
    import torch

    from models.detector.model import ModelSpec, SignatureNet

    ck = torch.load(str(checkpoint), map_location="cpu", weights_only=False)
    model = SignatureNet(ModelSpec(**ck["spec"]))
    model.load_state_dict(ck["ema"] if ck.get("ema") else ck["model"])
    return model.eval(), ck


@click.command("onnx")
@click.option(
    "--checkpoint",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="Training checkpoint (var/detector/runs/<run>/best.pt).",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("models/artifacts/detector.onnx"),
    show_default=True,
    help="ONNX file to write.",
)
@click.option("--fp16/--no-fp16", default=True, show_default=True, help="Also write <out>.fp16.onnx.")
@click.option(
    "--version", "version", default=None, help="Model version to stamp (default: the checkpoint's)."
)
def onnx_cmd(checkpoint: Path, out: Path, fp16: bool, version: str | None) -> None:
    """Export a detector checkpoint to ONNX (metadata inside), check it, compare with PyTorch."""
    model, ck = load_checkpoint_model(checkpoint)
    meta = ModelMeta(**{**ck["meta"], **({"version": version} if version else {})})
    diffs = export_onnx(model, meta, out)
    click.echo(
        f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB); ORT vs PyTorch max |diff|: "
        f"heatmap {diffs['heatmap']:.1e} (tol {ATOL_HEATMAP}), ltrb {diffs['ltrb']:.1e} px (tol {ATOL_LTRB})"
    )
    if fp16:
        half = out.with_suffix(".fp16.onnx")
        to_fp16(out, half)
        d16 = compare_with_torch(model, half, meta, ATOL_HEATMAP_FP16, ATOL_LTRB_FP16)
        click.echo(
            f"wrote {half} ({half.stat().st_size / 1e6:.2f} MB); FP16 vs PyTorch max |diff|: "
            f"heatmap {d16['heatmap']:.1e} (tol {ATOL_HEATMAP_FP16}), ltrb {d16['ltrb']:.1e} px (tol {ATOL_LTRB_FP16})"
        )
