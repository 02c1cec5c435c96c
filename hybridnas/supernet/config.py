"""Supernet training configuration (YAML, validated like spaces; CLI flags override)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Mapping

from pydantic import BaseModel, ConfigDict, Field

from ..configfile import read_config, validate_config
from ..errors import HybridNASError
from ..spaces.loader import SHIPPED_DIR

SUPERNET_DIR = SHIPPED_DIR.parent / "supernet"


class SupernetConfig(BaseModel):
    """What `hybridnas supernet train` needs."""

    model_config = ConfigDict(extra="forbid")
    space: str
    data: str = Field(description="cifar10:DIR, cifar100:DIR, npz:FILE or imagefolder:DIR")
    epochs: int = Field(10, gt=0, le=100_000)
    batch_size: int = Field(64, gt=1, le=65_536)
    sampler: str = "complexity_aware"
    subnets: int = Field(2, gt=0, le=1024, description="random subnets per step (samplers may add the largest/smallest)")
    sampler_options: dict[str, Any] = Field({}, description="the sampler's own options, e.g. uniform's fixed_genes "
                                                            "{'ops.3': 'nor_conv_3x3'} for a few-shot sub-supernet")
    init_from: str | None = Field(None, description="a supernet checkpoint of the same space whose weights this "
                                                    "training starts from (few-shot: the one-shot parent); the "
                                                    "optimizer and schedule start fresh")
    optimizer: Literal["adamw", "sgd"] = "adamw"
    lr: float = Field(2e-3, gt=0, le=10, allow_inf_nan=False)
    weight_decay: float = Field(0.05, ge=0, le=10, allow_inf_nan=False)
    warmup_epochs: float = Field(1.0, ge=0, le=100_000, allow_inf_nan=False,
                                 description="linear warm-up epochs; `hybridnas train` defaults to a tenth of a "
                                             "short run")
    label_smoothing: float = Field(0.0, ge=0, lt=1, allow_inf_nan=False)
    seed: int = Field(0, ge=0, lt=2**32)
    workers: int = Field(1, gt=0, le=4096, description="data-parallel workers (Ray Train when > 1)")
    device: Literal["cpu", "cuda"] = "cpu"
    train_limit: int | None = Field(None, gt=0, le=10**9, description="use only the first N training images")
    calibration_batches: int = Field(4, ge=0, le=100_000, description="BatchNorm recalibration batches per evaluated subnet")
    eval_batch_size: int = Field(250, gt=0, le=65_536)
    precision: Literal["fp32", "bf16"] = Field("fp32", description="bf16: forward passes under bfloat16 autocast "
                                                                 "(weights, gradients and optimizer stay fp32)")
    data_workers: int = Field(2, ge=0, description="DataLoader processes decoding an imagefolder: source (results do "
                                                   "not depend on it; array sources are held in memory)")


def load_supernet_config(source: str | Path | Mapping[str, Any], overrides: Mapping[str, Any] | None = None) -> SupernetConfig:
    """Read a supernet YAML (path, shipped name or dict) and apply non-None overrides."""
    raw, where, _ = read_config(source, SUPERNET_DIR, "supernet config")
    raw.update({k: v for k, v in (overrides or {}).items() if v is not None})
    if "data" not in raw:  # shipped configs name no data: it is the user's
        raise HybridNASError(f"{where}: names no training data; pass --data imagefolder:DIR (DIR/train/<class>/*), "
                             "--data cifar10:DIR (a cifar-10-batches-py folder), --data cifar100:DIR or --data npz:FILE "
                             "to `hybridnas "
                             "supernet train`, or set `data:` in the config (in a pipeline: supernet.overrides.data)")
    config = validate_config(SupernetConfig, raw, where, "supernet config")
    from .samplers import SAMPLERS

    SAMPLERS.get(config.sampler)  # unknown names fail here, listing the registered ones
    return config
