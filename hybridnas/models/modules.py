"""Every nn.Module a hybridnas network is made of, plus the graph runner; plain torch and timm layers only.

This file imports nothing from hybridnas on purpose: `hybridnas export` copies the definitions a network
needs from here into its standalone `model.py`, so the exported model and `Space.build` run the same code.
"""

from __future__ import annotations

import torch
from torch import nn
from timm.layers import Attention, ConvMlp, DropPath, LayerNorm2d, LayerScale2d


def make_norm(name: str, dim: int) -> nn.Module:
    """BatchNorm2d, a channel LayerNorm on NCHW maps (timm LayerNorm2d), or Identity."""
    if name == "batchnorm":
        return nn.BatchNorm2d(dim)
    if name == "layernorm":
        return LayerNorm2d(dim)
    return nn.Identity()


def make_act(name: str) -> nn.Module:
    """An activation module by name."""
    return {"relu": nn.ReLU, "relu6": nn.ReLU6, "gelu": nn.GELU, "silu": nn.SiLU, "none": nn.Identity}[name]()


class ConvNormAct(nn.Module):
    """Conv -> norm -> act, or act -> conv -> norm with `preact` (NAS-Bench-201's ReLUConvBN)."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, padding: int | None = None,
                 groups: int = 1, bias: bool = False, norm: str = "batchnorm", act: str = "relu",
                 preact: bool = False) -> None:
        super().__init__()
        self.preact = preact
        pad = (kernel - 1) // 2 if padding is None else padding
        self.conv = nn.Conv2d(cin, cout, kernel, stride, pad, groups=groups, bias=bias)
        self.norm = make_norm(norm, cout)
        self.act = make_act(act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.preact:
            return self.norm(self.conv(self.act(x)))
        return self.act(self.norm(self.conv(x)))


class PatchEmbed(nn.Module):
    """Non-overlapping patchify conv, optional norm and learned position embedding (kept as an NCHW map)."""

    def __init__(self, cin: int, cout: int, patch: int, norm: str, pos_hw: tuple[int, int] | None) -> None:
        super().__init__()
        self.proj = nn.Conv2d(cin, cout, patch, patch)
        self.norm = make_norm(norm, cout)
        self.pos_embed = nn.Parameter(torch.zeros(1, cout, *pos_hw)) if pos_hw else None
        if self.pos_embed is not None:
            nn.init.trunc_normal_(self.pos_embed, std=0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.proj(x)
        if self.pos_embed is not None:
            x = x + self.pos_embed
        return self.norm(x)


class DepthwiseConv(nn.Conv2d):
    """Depthwise k x k convolution with 'same' padding (the conv token mixer)."""

    def __init__(self, dim: int, kernel: int) -> None:
        super().__init__(dim, dim, kernel, 1, (kernel - 1) // 2, groups=dim)


class TokenAttention(nn.Module):
    """timm multi-head self-attention applied to an NCHW map as H*W tokens."""

    def __init__(self, dim: int, heads: int, qkv_bias: bool) -> None:
        super().__init__()
        self.attn = Attention(dim, num_heads=heads, qkv_bias=qkv_bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        tokens = self.attn(x.flatten(2).transpose(1, 2))
        return tokens.transpose(1, 2).reshape(b, c, h, w)


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


class PoolMixer(nn.Module):
    """PoolFormer's mixer: avgpool(x) - x (the block adds x back)."""

    def __init__(self) -> None:
        super().__init__()
        self.pool = nn.AvgPool2d(3, 1, 1, count_include_pad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(x) - x


class MetaFormerBlock(nn.Module):
    """x + mixer(norm(x)), then x + mlp(norm(x)) (MetaFormer, Yu et al. 2022); the token mixer is pluggable."""

    def __init__(self, dim: int, mixer: nn.Module, hidden: int, norm: str, act: str,
                 layer_scale: float | None = None, drop_path: float = 0.0) -> None:
        super().__init__()
        self.norm1 = make_norm(norm, dim)
        self.mixer = mixer
        self.ls1 = LayerScale2d(dim, layer_scale) if layer_scale else nn.Identity()
        self.norm2 = make_norm(norm, dim)
        self.mlp = ConvMlp(dim, hidden, act_layer=type(make_act(act)))
        self.ls2 = LayerScale2d(dim, layer_scale) if layer_scale else nn.Identity()
        self.drop_path = DropPath(drop_path) if drop_path > 0 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.drop_path(self.ls1(self.mixer(self.norm1(x))))
        return x + self.drop_path(self.ls2(self.mlp(self.norm2(x))))


class SqueezeExcite(nn.Module):
    """Squeeze-and-excitation (Hu et al., 2018): global pool, 1x1 conv to `reduced`, act, 1x1 conv back, sigmoid
    gate; both convs carry a bias (EfficientNet's form)."""

    def __init__(self, dim: int, reduced: int, act: str = "relu") -> None:
        super().__init__()
        self.reduce = nn.Conv2d(dim, reduced, 1)
        self.act = make_act(act)
        self.expand = nn.Conv2d(reduced, dim, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(self.expand(self.act(self.reduce(x.mean((2, 3), keepdim=True)))))


class MBConv(nn.Module):
    """MobileNetV2 inverted residual: 1x1 expand, kxk depthwise (carries the stride), [squeeze-excite,] 1x1
    project; BN + `act` (ReLU6 by default). The SE's reduced width is int(cin * se_ratio), at least 1."""

    def __init__(self, cin: int, cout: int, kernel: int, expansion: float, stride: int = 1,
                 drop_path: float = 0.0, act: str = "relu6", se_ratio: float = 0.0) -> None:
        super().__init__()
        hidden = int(round(cin * expansion))
        self.use_residual = stride == 1 and cin == cout
        self.expand = ConvNormAct(cin, hidden, 1, act=act) if hidden != cin else nn.Identity()
        self.dw = ConvNormAct(hidden, hidden, kernel, stride, groups=hidden, act=act)
        self.se = SqueezeExcite(hidden, max(1, int(cin * se_ratio)), act) if se_ratio > 0 else nn.Identity()
        self.project = ConvNormAct(hidden, cout, 1, act="none")
        self.drop_path = DropPath(drop_path) if drop_path > 0 and self.use_residual else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.project(self.se(self.dw(self.expand(x))))
        return x + self.drop_path(out) if self.use_residual else out


class PreactBasicBlock(nn.Module):
    """Pre-activation ResNet basic block (TransNAS-Bench-101's): act-conv(stride)-BN, act-conv-BN, plus the input,
    or a 1x1 conv (stride) + BN of it where the stride or the width changes."""

    def __init__(self, cin: int, cout: int, kernel: int = 3, stride: int = 1, act: str = "relu") -> None:
        super().__init__()
        self.conv_a = ConvNormAct(cin, cout, kernel, stride, act=act, preact=True)
        self.conv_b = ConvNormAct(cout, cout, kernel, 1, act=act, preact=True)
        self.shortcut = (ConvNormAct(cin, cout, 1, stride, act="none") if stride != 1 or cin != cout
                         else nn.Identity())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shortcut(x) + self.conv_b(self.conv_a(x))


class ResidualConv(nn.Module):
    """ResNet's basic block at stride 1 and equal widths: conv-norm-act, conv-norm, identity sum, then act."""

    def __init__(self, dim: int, kernel: int, norm: str = "batchnorm", act: str = "relu") -> None:
        super().__init__()
        self.conv_a = ConvNormAct(dim, dim, kernel, norm=norm, act=act)
        self.conv_b = ConvNormAct(dim, dim, kernel, norm=norm, act="none")
        self.act = make_act(act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(x + self.conv_b(self.conv_a(x)))


class Bottleneck(nn.Module):
    """ResNet's bottleneck block at stride 1 and equal widths: 1x1 conv-norm-act to dim // 4, kxk conv-norm-act,
    1x1 conv-norm back to dim, identity sum, then act."""

    def __init__(self, dim: int, kernel: int, norm: str = "batchnorm", act: str = "relu") -> None:
        super().__init__()
        inner = max(1, dim // 4)
        self.conv_a = ConvNormAct(dim, inner, 1, norm=norm, act=act)
        self.conv_b = ConvNormAct(inner, inner, kernel, norm=norm, act=act)
        self.conv_c = ConvNormAct(inner, dim, 1, norm=norm, act="none")
        self.act = make_act(act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(x + self.conv_c(self.conv_b(self.conv_a(x))))


class PoolProject(nn.Module):
    """ResNet-D's downsampling: stride x stride average pooling (ceil mode, padding not counted), then a 1x1
    conv and a norm to the new width; at stride 1 the 1x1 conv alone."""

    def __init__(self, cin: int, cout: int, stride: int = 2, norm: str = "batchnorm") -> None:
        super().__init__()
        self.pool = (nn.AvgPool2d(stride, stride, ceil_mode=True, count_include_pad=False) if stride > 1
                     else nn.Identity())
        self.proj = ConvNormAct(cin, cout, 1, norm=norm, act="none")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(self.pool(x))


class MaxPool(nn.Module):
    """ResNet's stem pooling: 3x3 max pooling, stride 2, padding 1."""

    def __init__(self) -> None:
        super().__init__()
        self.pool = nn.MaxPool2d(3, 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(x)


class ResNetBasicBlock(nn.Module):
    """NAS-Bench-201's reduction block: two ReLUConvBN 3x3 (first strided) plus an avg-pool + 1x1 shortcut."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv_a = ConvNormAct(cin, cout, 3, stride, preact=True)
        self.conv_b = ConvNormAct(cout, cout, 3, 1, preact=True)
        self.downsample = nn.Sequential(nn.AvgPool2d(2, 2), nn.Conv2d(cin, cout, 1, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.downsample(x) + self.conv_b(self.conv_a(x))


class Pool(nn.Module):
    """3x3 average pooling, stride 1, that ignores padding (NAS-Bench-201's avg_pool_3x3)."""

    def __init__(self) -> None:
        super().__init__()
        self.pool = nn.AvgPool2d(3, 1, 1, count_include_pad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(x)


class Zero(nn.Module):
    """The zero function of its input's shape (a NAS-Bench-201 cell whose every path is 'none')."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mul(0.0)


class ClassifierHead(nn.Module):
    """[1x1 conv-BN-act] -> [norm -> norm_act] -> global average pool -> [fc-act] -> dropout -> linear."""

    def __init__(self, cin: int, num_classes: int, norm: str, norm_act: str, conv_hidden: int, fc_hidden: int,
                 act: str, dropout: float) -> None:
        super().__init__()
        self.conv = ConvNormAct(cin, conv_hidden, 1, act=act) if conv_hidden else nn.Identity()
        width = conv_hidden or cin
        self.norm = make_norm(norm, width)
        self.norm_act = make_act(norm_act)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Sequential(nn.Linear(width, fc_hidden), make_act(act)) if fc_hidden else nn.Identity()
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(fc_hidden or width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.norm_act(self.norm(self.conv(x)))).flatten(1)
        return self.classifier(self.dropout(self.fc(x)))


class GraphNet(nn.Module):
    """Runs a fixed DAG of named layers in order; a node reading several nodes sums them.

    `steps` is a list of (node name, names of the nodes it reads, module or None for a pass-through);
    the network input is the node "input". Parameter names are `layers.<node name>.<...>`. Node outputs
    are freed after their last use to save memory.
    """

    def __init__(self, steps: list[tuple[str, tuple[str, ...], nn.Module | None]], output: str) -> None:
        super().__init__()
        self.layers = nn.ModuleDict({name: module for name, _, module in steps if module is not None})
        last_use: dict[str, int] = {}
        for i, (_, inputs, _) in enumerate(steps):
            for src in inputs:
                last_use[src] = i
        self._steps = [(name, tuple(inputs), module is not None, tuple(s for s in inputs if last_use[s] == i))
                       for i, (name, inputs, module) in enumerate(steps)]
        self._output = output

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._run(x, ())[0]

    def forward_features(self, x: torch.Tensor, names: tuple[str, ...]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Logits and the outputs of the named graph nodes (e.g. block outputs for proxies)."""
        return self._run(x, names)

    def _run(self, x: torch.Tensor, keep: tuple[str, ...]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        values = {"input": x}
        kept = {}
        for name, inputs, has_module, free in self._steps:
            h = values[inputs[0]]
            for src in inputs[1:]:
                h = h + values[src]
            values[name] = self.layers[name](h) if has_module else h
            if name in keep:
                kept[name] = values[name]
            for src in free:
                del values[src]
        return values[self._output].flatten(1), kept
