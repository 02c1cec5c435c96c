"""Schema of `type: stages` spaces: a stem, stages of one block type with per-stage choices, a head.

This is the shape of MnasNet/EfficientNet-style and ResNet-style macro spaces (Accel-NASBench's MnasNet space,
TransNAS-Bench-101's macro space): every block of a stage shares the stage's choices, the first block carries
the stage's stride and width change.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BeforeValidator, Field, model_validator
from typing_extensions import Annotated

from .schema import Act, Constraints, FloatParam, IntParam, SpaceBase, Strict
from .values import Param


def _bool_param(raw: object) -> Param:
    values = raw.get("choices") if isinstance(raw, dict) and set(raw) == {"choices"} else [raw]
    if not isinstance(values, list) or not values or not all(isinstance(v, bool) for v in values):
        raise ValueError(f"expected true, false or {{choices: [false, true]}}, got {raw!r}")
    if len(set(values)) != len(values):
        raise ValueError(f"'choices' has duplicates: {values!r}")
    return Param(tuple(values))


BoolParam = Annotated[Param, BeforeValidator(lambda raw: raw if isinstance(raw, Param) else _bool_param(raw))]


class StemLayer(Strict):
    """One stem convolution with BatchNorm: conv-BN-act, or act-conv-BN with `preact`."""

    width: int = Field(gt=0, le=65536)
    kernel: int = Field(3, gt=0, le=31)
    stride: Literal[1, 2] = 1
    act: Act = "relu"
    preact: bool = False


class StageChoices(Strict):
    """One stage: its block count, output width (fixed `width`, or `widen`: a multiple of the previous width),
    stride, and the block's own choices; `optional` stages may be left out (only after every required one)."""

    depth: IntParam
    width: int | None = Field(None, gt=0, le=65536)
    widen: IntParam = Param((1,))
    stride: IntParam = Param((1,))
    kernel: IntParam = Param((3,))
    expansion: FloatParam = Param((1,))  # mbconv only
    se: BoolParam = Param((False,))  # mbconv only
    optional: bool = False

    @model_validator(mode="after")
    def _one_width_rule(self) -> "StageChoices":
        if self.width is not None and self.widen.values != (1,):
            raise ValueError("give a fixed `width` or a `widen` multiple, not both")
        if not set(self.stride.values) <= {1, 2}:
            raise ValueError(f"stride must be 1 or 2, got {list(self.stride.values)}")
        if max(self.depth.values) > 64:
            raise ValueError(f"a stage may have at most 64 blocks, got {max(self.depth.values)}")
        if max(self.widen.values) > 16:
            raise ValueError(f"widen may be at most 16, got {max(self.widen.values)}")
        return self


class StageBlock(Strict):
    """The block every stage uses: MBConv (optionally with squeeze-excite) or a pre-activation basic block."""

    type: Literal["mbconv", "basic"]
    act: Act = "relu"
    se_ratio: float = Field(0.25, gt=0, le=1)  # mbconv's SE width: int(block input channels * se_ratio)


class Count(Strict):
    """An inclusive window on a count of stages."""

    min: int = Field(0, ge=0)
    max: int = Field(64, ge=0)


class StagesConstraints(Constraints):
    """Cost windows, plus how many stages may downsample (stride 2) or widen (widen > 1)."""

    downsamplings: Count | None = None
    widenings: Count | None = None


class StagesHead(Strict):
    """Optional 1x1 conv-BN-act to `conv` channels, global average pool, linear classifier."""

    conv: int = Field(0, ge=0, le=65536)
    act: Act = "relu"


class StagesConfig(SpaceBase):
    """A macro space of stages (`type: stages`)."""

    type: Literal["stages"]
    stem: list[StemLayer] = Field(min_length=1, max_length=8)
    block: StageBlock
    stages: list[StageChoices] = Field(min_length=1, max_length=16)
    head: StagesHead = StagesHead()
    constraints: StagesConstraints = StagesConstraints()

    @model_validator(mode="after")
    def _optional_stages_last(self) -> "StagesConfig":
        flags = [s.optional for s in self.stages]
        if any(flags) and flags.index(True) + sum(flags) != len(flags):
            raise ValueError("optional stages must all come after the required ones")
        if self.block.type == "basic" and any(len(s.expansion.values) > 1 or len(s.se.values) > 1 or s.se.values[0]
                                              for s in self.stages):
            raise ValueError("expansion and se are MBConv choices; a basic block has neither")
        return self
