"""Static building blocks (plain torch plus timm layers). Their costs live beside their specs in layers.py."""

from __future__ import annotations

import torch
from torch import nn
from timm.layers import ConvMlp, DropPath, LayerScale2d

from .norms import make_act, make_norm


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


class MBConv(nn.Module):
    """MobileNetV2 inverted residual: 1x1 expand, kxk depthwise (carries the stride), 1x1 project; BN + ReLU6."""

    def __init__(self, cin: int, cout: int, kernel: int, expansion: float, stride: int = 1,
                 drop_path: float = 0.0) -> None:
        super().__init__()
        hidden = int(round(cin * expansion))
        self.use_residual = stride == 1 and cin == cout
        self.expand = ConvNormAct(cin, hidden, 1, act="relu6") if hidden != cin else nn.Identity()
        self.dw = ConvNormAct(hidden, hidden, kernel, stride, groups=hidden, act="relu6")
        self.project = ConvNormAct(hidden, cout, 1, act="none")
        self.drop_path = DropPath(drop_path) if drop_path > 0 and self.use_residual else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.project(self.dw(self.expand(x)))
        return x + self.drop_path(out) if self.use_residual else out


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
