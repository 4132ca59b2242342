"""Start training from an exported detector (``--init-from detector.onnx``).

The shipped ONNX is all that survives of a training run once its checkpoints are gone (they are
never committed), and it is what "start from the production weights" means for retraining from
the field. Export folds each BatchNorm into the convolution before it, so the file holds, per
layer, a fused weight ``W'`` and bias ``b``. To train again the BatchNorms are unfolded:

- the convolution gets ``W'`` (it has no bias of its own);
- the BatchNorm gets running statistics ``m``, ``s^2`` of ``W'x`` measured on real inputs, and
  affine ``gamma = s``, ``beta = m + b``.

In eval mode that reproduces the file exactly (``s (y - m) / s + m + b = y + b``); in train mode,
where batch statistics replace the running ones, it does so up to the difference between a
batch's statistics and the measured ones, so training resumes from the same function rather than
from a re-scaled one. Convolutions are matched to the file's Conv nodes by execution order and
checked by shape: a file from another architecture is refused, never half-loaded.
"""

from __future__ import annotations

import itertools
import logging
from pathlib import Path

import numpy as np
import torch
from torch import nn

log = logging.getLogger(__name__)


class IncompatibleModel(ValueError):
    """The ONNX file's convolutions do not match the network being trained."""


def _conv_order(model: nn.Module, size: int) -> list[nn.Conv2d]:
    """The model's convolutions in the order the forward pass runs them (= ONNX graph order)."""
    order: list[nn.Conv2d] = []
    hooks = [
        m.register_forward_hook(lambda mod, _i, _o: order.append(mod))
        for m in model.modules()
        if isinstance(m, nn.Conv2d)
    ]
    was = model.training
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, 3, size, size))
    model.train(was)
    for h in hooks:
        h.remove()
    return order


def _onnx_convs(path: Path) -> list[tuple[np.ndarray, np.ndarray | None]]:
    import onnx
    from onnx import numpy_helper

    proto = onnx.load(str(path))
    init = {i.name: numpy_helper.to_array(i) for i in proto.graph.initializer}
    consts = {}
    for n in proto.graph.node:  # some exporters store folded weights as Constant nodes
        if n.op_type == "Constant" and n.attribute and n.attribute[0].t.dims:
            consts[n.output[0]] = numpy_helper.to_array(n.attribute[0].t)
    tensors = {**consts, **init}
    out = []
    for n in proto.graph.node:
        if n.op_type != "Conv":
            continue
        w = tensors.get(n.input[1])
        b = tensors.get(n.input[2]) if len(n.input) > 2 and n.input[2] else None
        if w is None:
            raise IncompatibleModel(f"Conv {n.name or n.output[0]} has no constant weight")
        out.append((w, b))
    return out


def _following_bn(model: nn.Module) -> dict[nn.Conv2d, nn.BatchNorm2d]:
    """Each convolution that feeds a BatchNorm directly (conv, bn in one nn.Sequential)."""
    pairs: dict[nn.Conv2d, nn.BatchNorm2d] = {}
    for m in model.modules():
        if isinstance(m, nn.Sequential):
            kids = list(m.children())
            for a, b in itertools.pairwise(kids):
                if isinstance(a, nn.Conv2d) and isinstance(b, nn.BatchNorm2d):
                    pairs[a] = b
    return pairs


@torch.no_grad()
def init_from_onnx(model: nn.Module, path: Path, samples: torch.Tensor) -> int:
    """Load the weights of the exported detector at ``path`` into ``model`` (BatchNorms unfolded
    with statistics measured on ``samples``, N x 3 x S x S normalised inputs); returns the number
    of convolutions loaded."""
    size = int(samples.shape[-1])
    convs = _conv_order(model, size)
    weights = _onnx_convs(Path(path))
    if len(convs) != len(weights):
        raise IncompatibleModel(f"{path}: {len(weights)} convolutions, the network has {len(convs)}")
    bns = _following_bn(model)
    for i, (conv, (w, b)) in enumerate(zip(convs, weights, strict=True)):  # check everything before loading
        if tuple(conv.weight.shape) != tuple(w.shape):
            raise IncompatibleModel(
                f"{path}: convolution {i} is {tuple(w.shape)}, the network's is {tuple(conv.weight.shape)}"
            )
        if conv not in bns and conv.bias is None and b is not None and np.abs(b).max() > 0:
            raise IncompatibleModel(f"{path}: convolution {i} has a bias the network cannot hold")
    for conv, (w, b) in zip(convs, weights, strict=True):
        conv.weight.copy_(torch.from_numpy(w.copy()))
        bias = torch.from_numpy(b.copy()) if b is not None else torch.zeros(w.shape[0])
        if conv in bns:
            bn = bns[conv]
            bn.running_mean.zero_()
            bn.running_var.fill_(1.0 - bn.eps)  # identity for now: sqrt(var + eps) = 1
            bn.weight.fill_(1.0)
            bn.bias.copy_(bias)
        elif conv.bias is not None:
            conv.bias.copy_(bias)
    # Measure each BN's input statistics with the network exactly equal to the file (eval mode,
    # identity BNs), then move the scale and shift into gamma/beta.
    stats: dict[nn.BatchNorm2d, tuple[torch.Tensor, torch.Tensor]] = {}
    hooks = [
        bn.register_forward_hook(
            lambda mod, inp, _o: stats.__setitem__(
                mod, (inp[0].mean(dim=(0, 2, 3)), inp[0].var(dim=(0, 2, 3), unbiased=False))
            )
        )
        for bn in bns.values()
    ]
    was = model.training
    model.eval()
    model(samples)
    for h in hooks:
        h.remove()
    for bn, (mean, var) in stats.items():
        std = torch.sqrt(var + bn.eps)
        shift = bn.bias.clone()
        bn.running_mean.copy_(mean)
        bn.running_var.copy_(var)
        bn.weight.copy_(std)
        bn.bias.copy_(mean + shift)
    model.train(was)
    log.info("initialised %d convolutions from %s", len(convs), path)
    return len(convs)
