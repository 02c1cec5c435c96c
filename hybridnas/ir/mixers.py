"""Token-mixer registry (MetaFormer): each mixer describes its module (`call`) and states its exact cost.

A mixer may instead define a `build(dim, kernel, heads, qkv_bias)` classmethod that returns its own module;
`models.build_mixer` prefers it.

MACs count multiply-accumulates of convolutions, linear layers and attention matmuls, nothing else
(no bias adds, norms, activations, softmax, pooling or residual adds); this equals
`torch.utils.flop_counter.FlopCounterMode` total / 2.
"""

from __future__ import annotations

from typing import ClassVar

from ..registry import Registry
from .calls import Call

MIXERS: Registry[type["Mixer"]] = Registry("mixer")
register_mixer = MIXERS.register


def get_mixer(name_or_cls: "str | type[Mixer]") -> type["Mixer"]:
    """Resolve a mixer by registered name, or return a Mixer subclass unchanged."""
    return MIXERS.get(name_or_cls)


def list_mixers(pattern: str = "*") -> list[str]:
    """Registered mixer names matching a shell-style pattern."""
    return MIXERS.list(pattern)


class Mixer:
    """A token mixer: `uses` names the block hyper-parameters it reads, out of {'kernel', 'heads'}; every
    MetaFormer block also reads mlp_ratio for its MLP.

    A `standalone` mixer replaces the whole MetaFormer block (identity skips it; mbconv and resconv are full
    blocks), so it reads mlp_ratio only if its `uses` names it.
    """

    uses: ClassVar[frozenset[str]] = frozenset()
    standalone: ClassVar[bool] = False

    @classmethod
    def call(cls, dim: int, kernel: int | None, heads: int | None, qkv_bias: bool) -> Call:
        """The constructor call of the mixer module (a class in `hybridnas.models.modules`)."""
        raise NotImplementedError(f"mixer {cls.__name__} has no module")

    @classmethod
    def macs(cls, dim: int, h: int, w: int, kernel: int | None, heads: int | None) -> int:
        return 0

    @classmethod
    def depthwise_macs(cls, dim: int, h: int, w: int, kernel: int | None, heads: int | None) -> int:
        """The part of `macs` spent in depthwise convolutions."""
        return 0

    @classmethod
    def params(cls, dim: int, kernel: int | None, heads: int | None, qkv_bias: bool) -> int:
        return 0


@register_mixer("conv")
class ConvMixer(Mixer):
    """Depthwise k x k convolution (ConvNeXt/ConvFormer style spatial mixing)."""

    uses = frozenset({"kernel"})

    @classmethod
    def call(cls, dim, kernel, heads, qkv_bias):
        return Call.of("DepthwiseConv", dim, kernel)

    @classmethod
    def macs(cls, dim, h, w, kernel, heads):
        return h * w * dim * kernel * kernel

    @classmethod
    def depthwise_macs(cls, dim, h, w, kernel, heads):
        return cls.macs(dim, h, w, kernel, heads)

    @classmethod
    def params(cls, dim, kernel, heads, qkv_bias):
        return dim * kernel * kernel + dim


@register_mixer("attention")
class AttentionMixer(Mixer):
    """Global multi-head self-attention (ViT); quadratic in the number of tokens."""

    uses = frozenset({"heads"})

    @classmethod
    def call(cls, dim, kernel, heads, qkv_bias):
        return Call.of("TokenAttention", dim, heads, qkv_bias)

    @classmethod
    def macs(cls, dim, h, w, kernel, heads):
        n = h * w
        return n * dim * 3 * dim + 2 * n * n * dim + n * dim * dim

    @classmethod
    def params(cls, dim, kernel, heads, qkv_bias):
        return 3 * dim * dim + (3 * dim if qkv_bias else 0) + dim * dim + dim


@register_mixer("linear_attention")
class LinearAttentionMixer(Mixer):
    """Global mixing in linear time: ReLU-kernel linear attention (Cai et al., EfficientViT)."""

    uses = frozenset({"heads"})

    @classmethod
    def call(cls, dim, kernel, heads, qkv_bias):
        return Call.of("ReLULinearAttention", dim, heads, qkv_bias)

    @classmethod
    def macs(cls, dim, h, w, kernel, heads):
        n, d = h * w, dim // heads
        return n * dim * 3 * dim + 2 * n * dim * d + n * dim + n * dim * dim

    @classmethod
    def params(cls, dim, kernel, heads, qkv_bias):
        return AttentionMixer.params(dim, kernel, heads, qkv_bias)


@register_mixer("pool")
class PoolingMixer(Mixer):
    """Parameter-free 3x3 average pooling (PoolFormer)."""

    @classmethod
    def call(cls, dim, kernel, heads, qkv_bias):
        return Call.of("PoolMixer")


@register_mixer("identity")
class IdentityMixer(Mixer):
    """The block is skipped entirely (elastic depth); canonical architectures drop such blocks."""

    standalone = True


@register_mixer("mbconv")
class MBConvMixer(Mixer):
    """A MobileNetV2 inverted residual replaces the block; mlp_ratio is its expansion, kernel its depthwise size."""

    uses = frozenset({"kernel", "mlp_ratio"})
    standalone = True


@register_mixer("resconv")
class ResidualConvMixer(Mixer):
    """A ResNet basic block replaces the block: two dense kernel x kernel convolutions with norms, the block's
    activation after the first and after the residual sum (He et al., 2016); no MLP, so no mlp_ratio."""

    uses = frozenset({"kernel"})
    standalone = True


@register_mixer("bottleneck")
class BottleneckMixer(Mixer):
    """A ResNet bottleneck block replaces the block: 1x1 conv to a quarter of the width, a dense kernel x kernel
    conv, 1x1 conv back, norms and the block's activation, identity sum (He et al., 2016); no mlp_ratio."""

    uses = frozenset({"kernel"})
    standalone = True
