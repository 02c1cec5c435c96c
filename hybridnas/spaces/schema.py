"""Pydantic schema of space files. Unknown keys are errors; searchable values become `Param`s."""

from __future__ import annotations

import re
from functools import partial
from typing import Annotated, Literal, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from .values import Param, parse_quantity, to_param

MAX_STAGE_DEPTH = 1024  # declared blocks per stage; layouts are expanded for every declared depth
# a count that sizes a list the space builds (cells, layers per stage): an int (not a bool), 1..MAX_STAGE_DEPTH
Depth = Annotated[int, Field(ge=1, le=MAX_STAGE_DEPTH, strict=True)]
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _param(kind: type, raw: object) -> Param:
    param = to_param(raw, kind)
    if kind is float:  # 4.0 and 4 are one value; keep ints where exact so ids and strings stay tidy
        param = Param(tuple(int(v) if float(v).is_integer() else float(v) for v in param.values), param.scalable)
    if kind in (int, float) and min(param.values) <= 0:
        raise ValueError(f"values must be positive, got {list(param.values)}")
    return param


IntParam = Annotated[Param, BeforeValidator(partial(_param, int))]
FloatParam = Annotated[Param, BeforeValidator(partial(_param, float))]
StrParam = Annotated[Param, BeforeValidator(partial(_param, str))]
Quantity = Annotated[float, BeforeValidator(parse_quantity)]
Act = Literal["relu", "relu6", "gelu", "silu", "none"]


class Strict(BaseModel):
    """Base of every space section: unknown keys are errors and parsed configs are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


class Window(Strict):
    """An inclusive [min, max] window on a cost; numbers accept K/M/G suffixes."""

    min: Quantity | None = None
    max: Quantity | None = None

    def bounds(self) -> tuple[float, float]:
        return (self.min or 0.0, self.max if self.max is not None else float("inf"))


class Constraints(Strict):
    """Which networks of a space are valid: heads dividing width, and optional MACs/params windows."""

    heads_divide_width: bool = True
    macs: Window | None = None
    params: Window | None = None


class InputSpec(Strict):
    """Input size and normalisation: images are (pixels / 255 - mean) / std per channel.

    `mean` and `std` are optional (both or neither); without them the data sources' defaults apply
    (CIFAR-10's statistics for 3 channels, 0.5 and 0.25 otherwise). The export card states what applies.
    """

    channels: int = Field(3, gt=0, le=64)
    size: int = Field(gt=0, le=8192)
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None

    @model_validator(mode="after")
    def _mean_std_per_channel(self) -> "InputSpec":
        if (self.mean is None) != (self.std is None):
            raise ValueError("give both mean and std, or neither")
        for key in ("mean", "std"):
            values = getattr(self, key)
            if values is not None and len(values) != self.channels:
                raise ValueError(f"{key} needs one value per channel ({self.channels}), got {len(values)}")
        if self.std is not None and not all(0 < s < float("inf") for s in self.std):
            raise ValueError(f"std values must be positive and finite, got {list(self.std)}")
        if self.mean is not None and not all(abs(m) < float("inf") for m in self.mean):
            raise ValueError(f"mean values must be finite, got {list(self.mean)}")
        return self


class SpaceBase(Strict):
    """The fields every space declares: name, input, number of classes."""

    name: str
    description: str = ""
    input: InputSpec
    num_classes: int = Field(gt=0)

    @field_validator("name")
    @classmethod
    def _identifier(cls, value: str) -> str:
        if not IDENTIFIER.match(value):
            raise ValueError(f"must be a plain identifier (letters, digits, _), got {value!r}")
        return value


# ---- metaformer (hybrid conv/attention) spaces -------------------------------------------------------
class ConvStem(Strict):
    """A convolutional stem: one conv per entry of `strides`, each followed by BatchNorm and `act`; `pool: max`
    ends it with ResNet's 3x3 stride-2 max pooling."""

    type: Literal["conv"]
    width: IntParam
    strides: list[Literal[1, 2]] = [1]
    kernel: int = Field(3, gt=0)
    act: Act = "relu"
    pool: Literal["none", "max"] = "none"


class PatchStem(Strict):
    """A ViT-style patch embedding stem."""

    type: Literal["patch"]
    patch_size: IntParam
    width: IntParam | None = None  # None: the first stage's width
    norm: bool = False
    pos_embed: bool = False


class Downsample(Strict):
    """How a stage starts: a conv (stride 2 by default) to its width; `avgpool`, ResNet-D's average pooling then a
    1x1 conv and norm (`kernel` unused); or none."""

    type: Literal["conv", "avgpool", "none"] = "conv"
    kernel: int = Field(3, gt=0)
    stride: Literal[1, 2] = 2


class Block(Strict):
    """Settings every MetaFormer block shares (norm, activation, layer scale, qkv bias)."""

    norm: Literal["batchnorm", "layernorm"] = "batchnorm"
    act: Act = "gelu"
    layer_scale: float | None = None
    qkv_bias: bool = True


class Stage(Strict):
    """One stage's searchable choices: depth, width, layout of mixers, MLP ratio, attention heads, conv mixer
    kernel; `per_block` names which of the last three each block chooses on its own (else one per stage)."""

    depth: IntParam
    width: IntParam
    layout: StrParam
    mlp_ratio: FloatParam = Param((4,))
    heads: IntParam = Param((1,))
    kernel: IntParam = Param((3,))
    downsample: Downsample = Downsample()
    per_block: list[Literal["mlp_ratio", "heads", "kernel"]] = []

    @field_validator("depth")
    @classmethod
    def _bounded_depth(cls, value: Param) -> Param:
        if max(value.values) > MAX_STAGE_DEPTH:
            raise ValueError(f"a stage may have at most {MAX_STAGE_DEPTH} blocks, got {max(value.values)}")
        return value


class Head(Strict):
    """The classifier: optional norm, optional hidden layer, dropout."""

    norm: bool = True
    fc_hidden: int = Field(0, ge=0)
    dropout: float = Field(0.0, ge=0, lt=1)


class MetaFormerConfig(SpaceBase):
    """A hybrid conv/attention MetaFormer space (`type: metaformer`)."""

    type: Literal["metaformer"] = "metaformer"
    stem: Annotated[Union[ConvStem, PatchStem], Field(discriminator="type")]
    block: Block = Block()
    stages: list[Stage] = Field(min_length=1)
    head: Head = Head()
    constraints: Constraints = Constraints()


# ---- benchmark spaces --------------------------------------------------------------------------------
NB201_OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")


class NB201Cell(Strict):
    """NAS-Bench-201's cell: 4 nodes, each of its 6 edges one of `ops`."""

    nodes: Literal[4] = 4
    ops: list[Literal[NB201_OPS]] = Field(list(NB201_OPS), min_length=1)  # type: ignore[valid-type]


class NB201Skeleton(Strict):
    """The fixed network around the cell: stem channels and cells per stage."""

    channels: int = Field(16, gt=0)
    cells_per_stage: Depth = 5


class NB201Config(SpaceBase):
    """The NAS-Bench-201 space (`type: nasbench201`)."""

    type: Literal["nasbench201"]
    cell: NB201Cell = NB201Cell()
    skeleton: NB201Skeleton = NB201Skeleton()


class MacroOp(Strict):
    """A NAS-Bench-Macro layer choice: identity or an MBConv of `kernel` and `expansion`."""

    type: Literal["identity", "mbconv"]
    kernel: int = Field(3, gt=0)
    expansion: float = Field(1, gt=0)


class MacroConfig(SpaceBase):
    """A NAS-Bench-Macro-style space (`type: nasbench_macro`): each layer of each stage picks one of `ops`."""

    type: Literal["nasbench_macro"]
    stem_width: int = Field(32, gt=0)
    stages: list[Depth] = Field(min_length=1, max_length=64)
    ops: list[MacroOp] = Field(min_length=1, max_length=10)
    head_hidden: int = Field(1280, ge=0)
    constraints: Constraints = Constraints()
