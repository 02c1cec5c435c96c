"""The options of `hybridnas export`, as one model: what to export (a run's front row or a space's
architecture), where its weights come from, and what to write."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator


class ExportConfig(BaseModel):
    """`hybridnas export`: exactly one of `rank` (of a run's Pareto front) or `arch` (of a space), and at most one
    source of weights."""

    model_config = ConfigDict(extra="forbid")

    rank: int | None = Field(None, ge=1, le=1_000_000, description="the run's front row to export (1 = best)")
    arch: str | None = Field(None, description="the space's architecture string (or JSON) to export")
    weights: str | None = Field(None, description="a state dict of the architecture (.safetensors or checkpoint)")
    supernet: str | None = Field(None, description="a supernet checkpoint to take the weights from")
    latency_tables: list[str] = Field([], description="device latency tables for the card and latency.csv")
    name: str | None = Field(None, description="the model's name (an identifier)")
    force: bool = Field(False, description="replace a non-empty output folder that hybridnas wrote")
    onnx: bool = Field(False, description="also write model.onnx, checked in ONNX Runtime")

    @model_validator(mode="after")
    def _one_source_each(self) -> "ExportConfig":
        if (self.rank is None) == (self.arch is None):
            raise ValueError("give either RUN --rank K or SPACE --arch STR")
        if self.weights and self.supernet:
            raise ValueError("give --weights or --supernet, not both")
        return self
