"""Layers with the tfjs layouts of src/lib/nn/layers.ts, so a state_dict IS the safetensors export:
Linear weights are [in, out] (x @ W + b), conv kernels [k, k, in, out] (HWIO). Initialisers mirror
the TypeScript ones (Xavier-uniform, zeros, N(0, std)) drawn from torch's generator.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class Linear(nn.Module):
    """`y = x @ W + b`, W [in, out]."""

    def __init__(self, in_features: int, out_features: int, init="xavier", bias: bool = True, generator: torch.Generator | None = None):
        super().__init__()
        w = torch.empty(in_features, out_features)
        if init == "xavier":
            limit = math.sqrt(6 / (in_features + out_features))
            w.uniform_(-limit, limit, generator=generator)
        elif init == "zeros":
            w.zero_()
        else:
            w.normal_(0.0, float(init["normal"]), generator=generator)
        self.weight = nn.Parameter(w)
        self.bias = nn.Parameter(torch.zeros(out_features)) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.bias is None:
            return x @ self.weight
        return torch.addmm(self.bias, x, self.weight) if x.dim() == 2 else x @ self.weight + self.bias


class Conv2d(nn.Module):
    """Stride 1, "same" padding, odd square kernel; weight [k, k, in, out] (tfjs HWIO), data NCHW."""

    def __init__(self, k: int, cin: int, cout: int, std: float, generator: torch.Generator | None = None):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(k, k, cin, cout).normal_(0.0, std, generator=generator))
        self.bias = nn.Parameter(torch.zeros(cout))
        self.k = k

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight.permute(3, 2, 0, 1), self.bias, padding=self.k // 2)


def space_to_depth_nchw(x: torch.Tensor, r: int) -> torch.Tensor:
    """[B, C, H*r, W*r] -> [B, r*r*C, H, W] with tfjs's NHWC channel order (dy * r + dx) * C + c."""
    b, c, hr, wr = x.shape
    h, w = hr // r, wr // r
    return x.reshape(b, c, h, r, w, r).permute(0, 3, 5, 1, 2, 4).reshape(b, r * r * c, h, w)


def depth_to_space_nchw(x: torch.Tensor, r: int) -> torch.Tensor:
    """Inverse of `space_to_depth_nchw`."""
    b, d, h, w = x.shape
    c = d // (r * r)
    return x.reshape(b, r, r, c, h, w).permute(0, 3, 4, 1, 5, 2).reshape(b, c, h * r, w * r)


def gelu(x: torch.Tensor) -> torch.Tensor:
    """tanh-approximated GELU (src/lib/nn/ops.ts writes the same function with a sigmoid)."""
    return F.gelu(x, approximate="tanh")


def layer_norm(x: torch.Tensor) -> torch.Tensor:
    """Over the last axis, no affine, eps 1e-6 (ops.ts `layerNorm`)."""
    return F.layer_norm(x, (x.shape[-1],), eps=1e-6)


class Container(nn.Module):
    """An empty module that only names its children (`encoder.down.0.block.0.conv1`)."""


def add_nested(root: nn.Module, dotted: str, module: nn.Module) -> None:
    """Adds `module` under a dotted path, creating containers on the way."""
    parts = dotted.split(".")
    node = root
    for part in parts[:-1]:
        child = node._modules.get(part)
        if child is None:
            child = Container()
            node.add_module(part, child)
        node = child
    node.add_module(parts[-1], module)


def get_nested(root: nn.Module, dotted: str) -> nn.Module:
    node = root
    for part in dotted.split("."):
        node = node._modules[part]
    return node
