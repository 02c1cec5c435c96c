"""The options of growing a seed into a family, as models: `hybridnas scale` and the pipeline's scale stage share
`GrowthOptions`; `ScaleConfig` adds what the command alone sets."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from ..devices import device_name
from .defaults import DEFAULT_RULE


class GrowthOptions(BaseModel):
    """How a seed grows: the target sizes, the rule whose proxies pick each step, and their data."""

    model_config = ConfigDict(extra="forbid")

    targets: str = Field("2x,4x", description="multiples of the seed's MACs (2x,4x), MACs (50M,100M), or predicted "
                                              "latency (4ms,8ms; needs a latency table)")
    rule: str = Field(DEFAULT_RULE, description="objectives (proxy:max|min, comma-separated) whose rank sum picks "
                                                "each growth step")
    data: str = Field("gaussian", description="the rule's images: gaussian, cifar10:DIR, npz:FILE, imagefolder:DIR")
    seed: int = Field(0, ge=0, lt=2**32)
    batch_size: int = Field(32, gt=1, le=4096, description="the rule's proxy batch")
    device: Annotated[str, AfterValidator(device_name)] = Field("cpu", description="where the rule's proxies run: "
                                                                                 "cpu, cuda or cuda:N")


class ScaleConfig(GrowthOptions):
    """`hybridnas scale`: growth, then each member's export (with the seed's weights carried in, if given)."""

    latency_tables: list[str] = Field([], description="tables that give each member's latency; the first predicts "
                                                       "latency targets")
    export: bool = True
    onnx: bool = False
    seed_weights: str | None = Field(None, description="the trained seed's weights, carried into every member")

    @model_validator(mode="after")
    def _weights_need_export(self) -> "ScaleConfig":
        if self.seed_weights is not None and not self.export:
            raise ValueError("--seed-weights carries the seed's weights into the exported members: drop --no-export")
        if self.onnx and not self.export:
            raise ValueError("--onnx writes each exported member's model.onnx: drop --no-export")
        return self
