"""Normalisation and activation factories shared by all blocks (names come from YAML)."""

from __future__ import annotations

from torch import nn
from timm.layers import LayerNorm2d

NORMS = ("batchnorm", "layernorm", "none")
ACTS = ("relu", "relu6", "gelu", "none")


def make_norm(name: str, dim: int) -> nn.Module:
    """BatchNorm2d, a channel LayerNorm on NCHW maps (timm LayerNorm2d), or Identity."""
    if name == "batchnorm":
        return nn.BatchNorm2d(dim)
    if name == "layernorm":
        return LayerNorm2d(dim)
    return nn.Identity()


def norm_params(name: str, dim: int) -> int:
    """Learnable parameters of `make_norm(name, dim)` (both norms have a weight and a bias)."""
    return 0 if name == "none" else 2 * dim


def make_act(name: str) -> nn.Module:
    """An activation module by name."""
    return {"relu": nn.ReLU, "relu6": nn.ReLU6, "gelu": nn.GELU, "none": nn.Identity}[name]()
