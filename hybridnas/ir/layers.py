"""Typed layer specs: the nodes of the architecture graph. Each knows its exact cost and its module's call.

A spec is a frozen, hashable record of everything that determines its module, so the same record
serves the cost model, the builder (`models.build_layer`), latency tables (as a key) and code export.
A spec holds no torch objects; a spec class may still define `build()` returning its own module.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import ClassVar

from ..registry import Registry
from .calls import Call
from .mixers import get_mixer
from .norms import norm_params

Shape = tuple[int, int, int]  # channels, height, width (batch excluded)

LAYERS: Registry[type["LayerSpec"]] = Registry("layer")


def _conv_out(size: int, kernel: int, stride: int, padding: int) -> int:
    return (size + 2 * padding - kernel) // stride + 1


@lru_cache(maxsize=1 << 16)
def interned(cls: type["LayerSpec"], *args: object) -> "LayerSpec":
    """One shared instance per distinct spec: archs of a space repeat layers, so this saves work and memory."""
    return cls(*args)


def hidden_width(dim: int, ratio: float) -> int:
    """Width of an MLP or expansion layer: dim * ratio, rounded to the nearest integer."""
    return int(round(dim * ratio))


@dataclass(frozen=True, slots=True)
class LayerSpec:
    """Base: `out_shape`, `macs` and `params` are analytic; `call` describes the module (None: pass-through)."""

    kind: ClassVar[str] = ""

    def out_shape(self, s: Shape) -> Shape:
        return s

    def macs(self, s: Shape) -> int:
        return 0

    def depthwise_macs(self, s: Shape) -> int:
        """The part of `macs` spent in depthwise convolutions (low arithmetic intensity: on many accelerators
        they cost far more time per MAC than dense ones)."""
        return 0

    def global_pools(self) -> int:
        """Global pooling operations in the layer (squeeze-excite, the head's pool): each waits for its whole
        input, a stall on pipelined accelerators whatever its MACs."""
        return 0

    def params(self) -> int:
        return 0

    def call(self) -> Call | None:
        """The module constructor call of this layer (None: the layer has no module)."""
        return None


def _register(cls):
    LAYERS.register(cls.kind)(cls)
    return cls


@_register
@dataclass(frozen=True, slots=True)
class ConvNormAct(LayerSpec):
    """Conv -> norm -> act, or act -> conv -> norm with `preact` (NAS-Bench-201's ReLUConvBN)."""

    kind: ClassVar[str] = "conv_norm_act"
    cin: int
    cout: int
    kernel: int
    stride: int = 1
    groups: int = 1
    bias: bool = False
    norm: str = "batchnorm"
    act: str = "relu"
    preact: bool = False

    @property
    def padding(self) -> int:
        return (self.kernel - 1) // 2

    def out_shape(self, s):
        return (self.cout, _conv_out(s[1], self.kernel, self.stride, self.padding),
                _conv_out(s[2], self.kernel, self.stride, self.padding))

    def macs(self, s):
        _, h, w = self.out_shape(s)
        return h * w * self.cout * (self.cin // self.groups) * self.kernel ** 2

    def depthwise_macs(self, s):
        return self.macs(s) if self.groups > 1 and self.groups == self.cin else 0

    def params(self):
        weights = self.cout * (self.cin // self.groups) * self.kernel ** 2
        return weights + (self.cout if self.bias else 0) + norm_params(self.norm, self.cout)

    def call(self):
        return Call.of("ConvNormAct", self.cin, self.cout, self.kernel, self.stride, None, self.groups, self.bias,
                       self.norm, self.act, self.preact)


@_register
@dataclass(frozen=True, slots=True)
class PatchEmbed(LayerSpec):
    """Non-overlapping patchify conv, optional learned position embedding and norm."""

    kind: ClassVar[str] = "patch_embed"
    cin: int
    cout: int
    patch: int
    norm: str = "none"
    pos_embed: bool = False
    in_size: tuple[int, int] = (0, 0)  # needed for the position-embedding shape

    def out_shape(self, s):
        return (self.cout, s[1] // self.patch, s[2] // self.patch)

    def macs(self, s):
        _, h, w = self.out_shape(s)
        return h * w * self.cout * self.cin * self.patch ** 2

    def params(self):
        h, w = self.in_size[0] // self.patch, self.in_size[1] // self.patch
        pos = self.cout * h * w if self.pos_embed else 0
        return self.cout * self.cin * self.patch ** 2 + self.cout + norm_params(self.norm, self.cout) + pos

    def call(self):
        hw = (self.in_size[0] // self.patch, self.in_size[1] // self.patch) if self.pos_embed else None
        return Call.of("PatchEmbed", self.cin, self.cout, self.patch, self.norm, hw)


@_register
@dataclass(frozen=True, slots=True)
class MetaBlock(LayerSpec):
    """A MetaFormer block with a non-standalone mixer."""

    kind: ClassVar[str] = "metaformer_block"
    dim: int
    mixer: str
    mlp_ratio: float
    heads: int | None = None
    kernel: int | None = None
    norm: str = "batchnorm"
    act: str = "gelu"
    layer_scale: float | None = None
    qkv_bias: bool = True

    @property
    def hidden(self) -> int:
        return hidden_width(self.dim, self.mlp_ratio)

    def macs(self, s):
        _, h, w = s
        mixer = get_mixer(self.mixer).macs(self.dim, h, w, self.kernel, self.heads)
        return mixer + 2 * h * w * self.dim * self.hidden

    def depthwise_macs(self, s):
        _, h, w = s
        return get_mixer(self.mixer).depthwise_macs(self.dim, h, w, self.kernel, self.heads)

    def params(self):
        mixer = get_mixer(self.mixer).params(self.dim, self.kernel, self.heads, self.qkv_bias)
        mlp = 2 * self.dim * self.hidden + self.hidden + self.dim
        scale = 2 * self.dim if self.layer_scale else 0
        return 2 * norm_params(self.norm, self.dim) + mixer + mlp + scale

    def call(self):
        mixer = get_mixer(self.mixer).call(self.dim, self.kernel, self.heads, self.qkv_bias)
        return Call.of("MetaFormerBlock", self.dim, mixer, self.hidden, self.norm, self.act, self.layer_scale)


@_register
@dataclass(frozen=True, slots=True)
class MBConv(LayerSpec):
    """MobileNetV2 inverted residual (1x1 expand, depthwise `kernel`, 1x1 project); residual at stride 1 and
    equal widths."""

    kind: ClassVar[str] = "mbconv"
    cin: int
    cout: int
    kernel: int
    expansion: float
    stride: int = 1
    act: str = "relu6"
    se_ratio: float = 0.0  # squeeze-excite after the depthwise conv, reduced to int(cin * se_ratio) (>= 1)

    @property
    def hidden(self) -> int:
        return hidden_width(self.cin, self.expansion)

    @property
    def se_width(self) -> int:
        return max(1, int(self.cin * self.se_ratio)) if self.se_ratio > 0 else 0

    def out_shape(self, s):
        pad = (self.kernel - 1) // 2
        return (self.cout, _conv_out(s[1], self.kernel, self.stride, pad), _conv_out(s[2], self.kernel, self.stride, pad))

    def macs(self, s):
        _, h, w = s
        _, ho, wo = self.out_shape(s)
        expand = h * w * self.cin * self.hidden if self.hidden != self.cin else 0
        se = 2 * self.hidden * self.se_width  # two 1x1 convs on the pooled 1x1 map
        return expand + ho * wo * self.hidden * self.kernel ** 2 + se + ho * wo * self.hidden * self.cout

    def depthwise_macs(self, s):
        _, ho, wo = self.out_shape(s)
        return ho * wo * self.hidden * self.kernel ** 2

    def global_pools(self):
        return 1 if self.se_width else 0

    def params(self):
        expand = self.cin * self.hidden + 2 * self.hidden if self.hidden != self.cin else 0
        se = 2 * self.hidden * self.se_width + self.se_width + self.hidden if self.se_width else 0
        return (expand + self.hidden * self.kernel ** 2 + 2 * self.hidden + se + self.hidden * self.cout
                + 2 * self.cout)

    def call(self):
        if self.act == "relu6" and not self.se_ratio:  # the earlier form, kept so exported files stay the same
            return Call.of("MBConv", self.cin, self.cout, self.kernel, self.expansion, self.stride)
        return Call.of("MBConv", self.cin, self.cout, self.kernel, self.expansion, self.stride, act=self.act,
                       se_ratio=self.se_ratio)


@_register
@dataclass(frozen=True, slots=True)
class PreactBasicBlock(LayerSpec):
    """Pre-activation ResNet basic block (TransNAS-Bench-101): act-conv-BN twice, the first strided, plus the
    input or a 1x1 conv + BN projection of it."""

    kind: ClassVar[str] = "preact_basic_block"
    cin: int
    cout: int
    kernel: int = 3
    stride: int = 1
    act: str = "relu"

    @property
    def projects(self) -> bool:
        return self.stride != 1 or self.cin != self.cout

    def out_shape(self, s):
        pad = (self.kernel - 1) // 2
        return (self.cout, _conv_out(s[1], self.kernel, self.stride, pad), _conv_out(s[2], self.kernel, self.stride, pad))

    def macs(self, s):
        _, h, w = self.out_shape(s)
        convs = h * w * self.cout * self.kernel ** 2 * (self.cin + self.cout)
        return convs + (h * w * self.cin * self.cout if self.projects else 0)

    def params(self):
        convs = self.kernel ** 2 * self.cout * (self.cin + self.cout) + 4 * self.cout
        return convs + (self.cin * self.cout + 2 * self.cout if self.projects else 0)

    def call(self):
        return Call.of("PreactBasicBlock", self.cin, self.cout, self.kernel, self.stride, self.act)


@_register
@dataclass(frozen=True, slots=True)
class ResidualConv(LayerSpec):
    """ResNet's basic block at stride 1 and equal widths: conv-norm-act, conv-norm, identity sum, act."""

    kind: ClassVar[str] = "residual_conv"
    dim: int
    kernel: int
    norm: str = "batchnorm"
    act: str = "relu"

    def macs(self, s):
        _, h, w = s
        return 2 * h * w * self.dim * self.dim * self.kernel ** 2

    def params(self):
        return 2 * (self.dim * self.dim * self.kernel ** 2 + norm_params(self.norm, self.dim))

    def call(self):
        return Call.of("ResidualConv", self.dim, self.kernel, self.norm, self.act)


@_register
@dataclass(frozen=True, slots=True)
class Bottleneck(LayerSpec):
    """ResNet's bottleneck block at stride 1 and equal widths (He et al., 2016): 1x1 conv to dim // 4, k x k conv,
    1x1 conv back to dim, each with a norm, the block's activation after the first two and after the identity
    sum. Wide outputs at a quarter of the 3x3 cost: what ResNet-50-style networks owe their width to."""

    kind: ClassVar[str] = "bottleneck"
    dim: int
    kernel: int
    norm: str = "batchnorm"
    act: str = "relu"

    @property
    def inner(self) -> int:
        return max(1, self.dim // 4)

    def macs(self, s):
        _, h, w = s
        return h * w * self.inner * (2 * self.dim + self.inner * self.kernel ** 2)

    def params(self):
        weights = self.inner * (2 * self.dim + self.inner * self.kernel ** 2)
        return weights + 2 * norm_params(self.norm, self.inner) + norm_params(self.norm, self.dim)

    def call(self):
        return Call.of("Bottleneck", self.dim, self.kernel, self.norm, self.act)


@_register
@dataclass(frozen=True, slots=True)
class PoolProject(LayerSpec):
    """ResNet-D's downsampling (He et al., 2019, "Bag of Tricks"): stride x stride average pooling (ceil mode,
    padding not counted), then a 1x1 conv and a norm to the new width; at stride 1 the 1x1 conv alone."""

    kind: ClassVar[str] = "pool_project"
    cin: int
    cout: int
    stride: int = 2
    norm: str = "batchnorm"

    def out_shape(self, s):
        return (self.cout, -(-s[1] // self.stride), -(-s[2] // self.stride))

    def macs(self, s):
        _, h, w = self.out_shape(s)
        return h * w * self.cin * self.cout

    def params(self):
        return self.cin * self.cout + norm_params(self.norm, self.cout)

    def call(self):
        return Call.of("PoolProject", self.cin, self.cout, self.stride, self.norm)


@_register
@dataclass(frozen=True, slots=True)
class MaxPool(LayerSpec):
    """ResNet's stem pooling: 3x3 max pooling at stride 2, padding 1; no parameters, no MACs."""

    kind: ClassVar[str] = "max_pool"

    def out_shape(self, s):
        return (s[0], _conv_out(s[1], 3, 2, 1), _conv_out(s[2], 3, 2, 1))

    def call(self):
        return Call.of("MaxPool")


@_register
@dataclass(frozen=True, slots=True)
class ResNetBasicBlock(LayerSpec):
    """NAS-Bench-201's reduction block: two 3x3 ReLUConvBN (the first strided), an avg-pool + 1x1 shortcut."""

    kind: ClassVar[str] = "resnet_basic_block"
    cin: int
    cout: int
    stride: int = 2

    def out_shape(self, s):
        return (self.cout, _conv_out(s[1], 3, self.stride, 1), _conv_out(s[2], 3, self.stride, 1))

    def macs(self, s):
        _, h, w = self.out_shape(s)
        return h * w * self.cout * (9 * self.cin + 9 * self.cout + self.cin)

    def params(self):
        return 9 * self.cin * self.cout + 9 * self.cout * self.cout + 4 * self.cout + self.cin * self.cout

    def call(self):
        return Call.of("ResNetBasicBlock", self.cin, self.cout, self.stride)


@_register
@dataclass(frozen=True, slots=True)
class AvgPool3x3(LayerSpec):
    """3x3 average pooling, stride 1, that ignores padding (NAS-Bench-201's avg_pool_3x3); no parameters."""

    kind: ClassVar[str] = "avg_pool_3x3"

    def call(self):
        return Call.of("Pool")


@_register
@dataclass(frozen=True, slots=True)
class Identity(LayerSpec):
    """Pass-through (a skip connection); has no module."""

    kind: ClassVar[str] = "identity"


@_register
@dataclass(frozen=True, slots=True)
class Sum(LayerSpec):
    """Element-wise sum of all inputs (a DAG node with several incoming edges); has no module."""

    kind: ClassVar[str] = "sum"


@_register
@dataclass(frozen=True, slots=True)
class Zero(LayerSpec):
    """Zeros of the input's shape (a NAS-Bench-201 cell whose every path is 'none')."""

    kind: ClassVar[str] = "zero"

    def call(self):
        return Call.of("Zero")


@_register
@dataclass(frozen=True, slots=True)
class ClassifierHead(LayerSpec):
    """[1x1 conv-BN-act] -> [norm -> norm_act] -> global average pool -> [fc-act] -> dropout -> linear."""

    kind: ClassVar[str] = "classifier_head"
    cin: int
    num_classes: int
    norm: str = "batchnorm"
    norm_act: str = "none"
    conv_hidden: int = 0
    fc_hidden: int = 0
    act: str = "relu"
    dropout: float = 0.0

    @property
    def width(self) -> int:
        return self.conv_hidden or self.cin

    def out_shape(self, s):
        return (self.num_classes, 1, 1)

    def global_pools(self):
        return 1

    def macs(self, s):
        _, h, w = s
        conv = h * w * self.cin * self.conv_hidden
        return conv + self.width * self.fc_hidden + (self.fc_hidden or self.width) * self.num_classes

    def params(self):
        conv = self.cin * self.conv_hidden + 2 * self.conv_hidden if self.conv_hidden else 0
        fc = self.width * self.fc_hidden + self.fc_hidden
        classifier = ((self.fc_hidden or self.width) + 1) * self.num_classes
        return conv + norm_params(self.norm, self.width) + fc + classifier

    def call(self):
        return Call.of("ClassifierHead", self.cin, self.num_classes, self.norm, self.norm_act, self.conv_hidden,
                       self.fc_hidden, self.act, self.dropout)
