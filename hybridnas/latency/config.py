"""The options of `hybridnas latency build`, as one model: the command and the pipeline's latency stage share it.

Choices come from `latency.options`, which tests keep equal to the backend registry (a torch-free mirror, so
`--help` needs no torch).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from ..devices import device_name
from .options import (BACKEND_NAMES, DEFAULT_CALIBRATE, DEFAULT_REPEATS, DEFAULT_STATISTIC, DEFAULT_WARMUP, DTYPES,
                      OPTIMIZATION_LEVELS, STATISTIC_NAMES)


class LatencyBuildConfig(BaseModel):
    """How a latency table is timed: what runs the layers, on which device and threads, and how repeats become a
    layer's time."""

    model_config = ConfigDict(extra="forbid")

    backend: Literal[BACKEND_NAMES] = Field("torch", description="what runs the layers: eager PyTorch, or ONNX "  # type: ignore[valid-type]
                                            "Runtime (CPU execution provider)")
    optimization: Literal[OPTIMIZATION_LEVELS] | None = Field(  # type: ignore[valid-type]
        None, description="onnxruntime graph-optimisation level (default all)")
    statistic: Literal[STATISTIC_NAMES] = Field(DEFAULT_STATISTIC,  # type: ignore[valid-type]
                                                description="how a layer's repeats become its time")
    pin_cpu: str | None = Field(None, description="cores to time on (1, 0,2 or 2-3): steadier numbers")
    device: Annotated[str, AfterValidator(device_name)] = Field("cpu", description="cpu, cuda or cuda:N (torch "
                                                                                 "backend)")
    threads: int = Field(1, gt=0, le=1024, description="intra-op threads the table is for")
    batch: int = Field(1, gt=0, le=4096)
    dtype: Literal[DTYPES] = "float32"  # type: ignore[valid-type]
    repeats: int = Field(DEFAULT_REPEATS, ge=1, le=100_000, description="timed repeats per layer")
    warmup: int = Field(DEFAULT_WARMUP, ge=0, le=100_000)
    calibrate: int = Field(DEFAULT_CALIBRATE, ge=0, le=10_000,
                           description="random networks timed end to end to fit the calibration: 0 (none) or 3 "
                                       "or more")

    @field_validator("calibrate")
    @classmethod
    def _enough_to_fit(cls, value: int) -> int:
        if 0 < value < 3:
            raise ValueError("0 (no calibration) or at least 3 networks: fewer cannot fit a scale per layer kind")
        return value

    def build_options(self) -> dict[str, Any]:
        """The keyword arguments of `latency.build_table` these options set."""
        options = self.model_dump(include=set(LatencyBuildConfig.model_fields))
        options["pin_cpus"] = options.pop("pin_cpu")
        return options
