"""A compact one-stage, anchor-free signature detector (TTFNet/CenterNet style).

Plain 3x3 convolutions, batch norm, ReLU, nearest upsampling, sigmoid and softplus: every op is
in ONNX opset 13 and native in TensorRT 8.x/10.x, so no plugins are needed. The input shape is
static (1x3xSxS, S=640 by default) and the heads run at stride 8 (80x80 cells):

- ``heatmap`` 1x1xHxW: sigmoid score that a signature's centre is in the cell;
- ``ltrb`` 1x4xHxW: distances in input pixels from the cell centre to the box edges.

Decoding (peaks + NMS) is numpy in edge/detect/postprocess.py, shared by every backend.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

STRIDE = 8
#: Scale of the distance head: softplus(x) * LTRB_SCALE pixels, so an untrained head starts at
#: boxes of a plausible signature size instead of zero-size ones.
LTRB_SCALE = 16.0


@dataclass(frozen=True)
class ModelSpec:
    """Shape of the network; ``width`` scales every channel count (tests use a tiny one)."""

    input_size: int = 640
    width: float = 1.0

    def ch(self, c: int) -> int:
        return max(4, round(c * self.width))


def cbr(cin: int, cout: int, stride: int = 1, k: int = 3) -> nn.Sequential:
    """Conv + BatchNorm + ReLU."""
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, stride, k // 2, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)
    )


class Res(nn.Module):
    """Two 3x3 conv-bn layers with an identity shortcut."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.a = cbr(c, c)
        self.b = nn.Sequential(nn.Conv2d(c, c, 3, 1, 1, bias=False), nn.BatchNorm2d(c))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(x + self.b(self.a(x)))


class SignatureNet(nn.Module):
    """Backbone (strides 2..32) + a two-level top-down neck to stride 8 + two heads."""

    def __init__(self, spec: ModelSpec | None = None) -> None:
        super().__init__()
        self.spec = spec or ModelSpec()
        c = self.spec.ch
        c8, c16, c32, neck = c(32), c(64), c(96), c(48)
        self.stem = nn.Sequential(cbr(3, c(16), 2), cbr(c(16), c(24), 2))  # stride 4
        self.s8 = nn.Sequential(cbr(c(24), c8, 2), Res(c8))
        self.s16 = nn.Sequential(cbr(c8, c16, 2), Res(c16))
        self.s32 = nn.Sequential(cbr(c16, c32, 2), Res(c32), Res(c32))
        self.lat32 = cbr(c32, neck, k=1)
        self.lat16 = cbr(c16, neck, k=1)
        self.lat8 = cbr(c8, neck, k=1)
        self.fuse16 = cbr(neck, neck)
        self.fuse8 = cbr(neck, neck)
        self.head = cbr(neck, neck)
        self.hm = nn.Conv2d(neck, 1, 1)
        self.reg = nn.Conv2d(neck, 4, 1)
        # Focal-loss prior: start predicting "background" everywhere (p = 0.01).
        nn.init.constant_(self.hm.bias, -4.6)
        nn.init.zeros_(self.reg.bias)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        f8 = self.s8(self.stem(x))
        f16 = self.s16(f8)
        f32 = self.s32(f16)
        p16 = self.fuse16(self.lat16(f16) + F.interpolate(self.lat32(f32), scale_factor=2.0, mode="nearest"))
        p8 = self.fuse8(self.lat8(f8) + F.interpolate(p16, scale_factor=2.0, mode="nearest"))
        h = self.head(p8)
        return torch.sigmoid(self.hm(h)), F.softplus(self.reg(h)) * LTRB_SCALE


def count_params(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def count_flops(model: nn.Module, input_size: int) -> float:
    """Forward FLOPs (2 x multiply-accumulates of convolutions; other ops are negligible)."""
    total = 0

    def hook(mod: nn.Module, inp: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
        nonlocal total
        assert isinstance(mod, nn.Conv2d)
        k = mod.kernel_size[0] * mod.kernel_size[1] * (mod.in_channels // mod.groups)
        total += 2 * out.numel() * k

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, nn.Conv2d)]
    was_training = model.training
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, 3, input_size, input_size))
    model.train(was_training)
    for h in handles:
        h.remove()
    return float(total)
