"""Token-mixer registry (MetaFormer): each mixer builds its module and states its exact analytic cost.

MACs count multiply-accumulates of convolutions, linear layers and attention matmuls, nothing else
(no bias adds, norms, activations, softmax, pooling or residual adds); this equals
`torch.utils.flop_counter.FlopCounterMode` total / 2.
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn
from timm.layers import Attention

from ..registry import Registry

MIXERS: Registry[type["Mixer"]] = Registry("mixer")
register_mixer = MIXERS.register


def get_mixer(name_or_cls: "str | type[Mixer]") -> type["Mixer"]:
    """Resolve a mixer by registered name, or return a Mixer subclass unchanged."""
    return MIXERS.get(name_or_cls)


def list_mixers(pattern: str = "*") -> list[str]:
    """Registered mixer names matching a shell-style pattern."""
    return MIXERS.list(pattern)


class Mixer:
    """A token mixer: `uses` names the block hyper-parameters it reads, out of {'kernel', 'heads'}.

    A `standalone` mixer replaces the whole MetaFormer block (identity skips it; mbconv is a full block).
    """

    uses: ClassVar[frozenset[str]] = frozenset()
    standalone: ClassVar[bool] = False

    @classmethod
    def build(cls, dim: int, kernel: int | None, heads: int | None, qkv_bias: bool) -> nn.Module:
        raise NotImplementedError

    @classmethod
    def macs(cls, dim: int, h: int, w: int, kernel: int | None, heads: int | None) -> int:
        return 0

    @classmethod
    def params(cls, dim: int, kernel: int | None, heads: int | None, qkv_bias: bool) -> int:
        return 0


@register_mixer("conv")
class ConvMixer(Mixer):
    """Depthwise k x k convolution (ConvNeXt/ConvFormer style spatial mixing)."""

    uses = frozenset({"kernel"})

    @classmethod
    def build(cls, dim, kernel, heads, qkv_bias):
        return nn.Conv2d(dim, dim, kernel, 1, (kernel - 1) // 2, groups=dim)

    @classmethod
    def macs(cls, dim, h, w, kernel, heads):
        return h * w * dim * kernel * kernel

    @classmethod
    def params(cls, dim, kernel, heads, qkv_bias):
        return dim * kernel * kernel + dim


class TokenAttention(nn.Module):
    """timm multi-head self-attention applied to an NCHW map as H*W tokens."""

    def __init__(self, dim: int, heads: int, qkv_bias: bool) -> None:
        super().__init__()
        self.attn = Attention(dim, num_heads=heads, qkv_bias=qkv_bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        tokens = self.attn(x.flatten(2).transpose(1, 2))
        return tokens.transpose(1, 2).reshape(b, c, h, w)


@register_mixer("attention")
class AttentionMixer(Mixer):
    """Global multi-head self-attention (ViT); quadratic in the number of tokens."""

    uses = frozenset({"heads"})

    @classmethod
    def build(cls, dim, kernel, heads, qkv_bias):
        return TokenAttention(dim, heads, qkv_bias)

    @classmethod
    def macs(cls, dim, h, w, kernel, heads):
        n = h * w
        return n * dim * 3 * dim + 2 * n * n * dim + n * dim * dim

    @classmethod
    def params(cls, dim, kernel, heads, qkv_bias):
        return 3 * dim * dim + (3 * dim if qkv_bias else 0) + dim * dim + dim


class ReLULinearAttention(nn.Module):
    """Linear attention with a ReLU kernel (EfficientViT): out = phi(q) (phi(k)^T v) / (phi(q) sum phi(k))."""

    def __init__(self, dim: int, heads: int, qkv_bias: bool, eps: float = 1e-6) -> None:
        super().__init__()
        self.heads, self.eps = heads, eps
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        qkv = self.qkv(x.flatten(2).transpose(1, 2))  # B, N, 3C
        q, k, v = qkv.reshape(b, h * w, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4).unbind(0)
        q, k = torch.relu(q), torch.relu(k)
        kv = k.transpose(-2, -1) @ v  # B, heads, d, d
        numerator = q @ kv
        denominator = q @ k.sum(dim=2, keepdim=True).transpose(-2, -1)
        out = (numerator / (denominator + self.eps)).transpose(1, 2).reshape(b, h * w, c)
        return self.proj(out).transpose(1, 2).reshape(b, c, h, w)


@register_mixer("linear_attention")
class LinearAttentionMixer(Mixer):
    """Global mixing in linear time: ReLU-kernel linear attention (Cai et al., EfficientViT)."""

    uses = frozenset({"heads"})

    @classmethod
    def build(cls, dim, kernel, heads, qkv_bias):
        return ReLULinearAttention(dim, heads, qkv_bias)

    @classmethod
    def macs(cls, dim, h, w, kernel, heads):
        n, d = h * w, dim // heads
        return n * dim * 3 * dim + 2 * n * dim * d + n * dim + n * dim * dim

    @classmethod
    def params(cls, dim, kernel, heads, qkv_bias):
        return AttentionMixer.params(dim, kernel, heads, qkv_bias)


class PoolMixer(nn.Module):
    """PoolFormer's mixer: avgpool(x) - x (the block adds x back)."""

    def __init__(self) -> None:
        super().__init__()
        self.pool = nn.AvgPool2d(3, 1, 1, count_include_pad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(x) - x


@register_mixer("pool")
class PoolingMixer(Mixer):
    """Parameter-free 3x3 average pooling (PoolFormer)."""

    @classmethod
    def build(cls, dim, kernel, heads, qkv_bias):
        return PoolMixer()


@register_mixer("identity")
class IdentityMixer(Mixer):
    """The block is skipped entirely (elastic depth); canonical architectures drop such blocks."""

    standalone = True


@register_mixer("mbconv")
class MBConvMixer(Mixer):
    """A MobileNetV2 inverted residual replaces the block; mlp_ratio is its expansion, kernel its depthwise size."""

    uses = frozenset({"kernel"})
    standalone = True
