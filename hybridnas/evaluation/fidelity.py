"""Training fidelities: what a trained score is worth, and the table-backed oracle that benchmarks use.

A fidelity turns an architecture into `val_accuracy` by spending training epochs. Two kinds:

- `train`: trains the network from scratch with a declared recipe (supernet/fidelity.py registers it);
  successive halving stops weak candidates at the recipe's rungs through Optuna's pruners.
- `table`: looks the accuracy up in a benchmark table (NAS-Bench-201's 12-epoch validation accuracy) and
  charges the epochs that training would have cost, so search algorithms are measured cheaply and honestly.

Every score carries its fidelity (epochs, images, recipe hash) into the run's journal.
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..errors import HybridNASError
from ..spaces import Arch, Space
from .base import Evaluation, Evaluator

METRIC = "val_accuracy"
PRUNERS = ("none", "successive_halving", "hyperband")


class TrainingRecipe(BaseModel):
    """How a candidate is trained from scratch: optimizer, schedule, epochs, batch, data fractions.

    The image size is the space's input size; image folders larger than 64 px train with timm's transforms
    (RandomResizedCrop and flip), smaller images and array sources with pad-and-crop and flip.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    epochs: int = Field(5, gt=0, le=1000, description="the schedule's length (the last rung)")
    batch_size: int = Field(64, gt=1, le=4096)
    optimizer: Literal["adamw", "sgd"] = "adamw"
    lr: float = Field(2e-3, gt=0, le=10, allow_inf_nan=False)
    weight_decay: float = Field(0.05, ge=0, le=1, allow_inf_nan=False)
    warmup_epochs: float = Field(0.5, ge=0, le=1000, allow_inf_nan=False,
                                 description="linear warm-up, then cosine decay to the last epoch")
    label_smoothing: float = Field(0.1, ge=0, lt=1, allow_inf_nan=False)
    train_fraction: float = Field(1.0, gt=0, le=1, allow_inf_nan=False,
                                  description="train on this fraction of the training images (a cheaper fidelity)")
    holdout: float = Field(0.1, gt=0, lt=1, allow_inf_nan=False,
                           description="fraction of the training split held out to score on; the test split is "
                                       "never used to select")
    seed: int = Field(0, ge=0, lt=2**32)

    def digest(self) -> str:
        """A short stable hash of the recipe (journaled with every score it made)."""
        return hashlib.sha256(json.dumps(self.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()[:12]


class FidelityConfig(BaseModel):
    """The search's training fidelity (the `val_accuracy` objective).

    With `kind: train`, successive halving trains every candidate to `min_epochs`, then keeps training
    only those Optuna's pruner promotes, at rungs `min_epochs * reduction_factor**k`, up to the recipe's epochs.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: Literal["train", "table"] = "train"
    recipe: TrainingRecipe = TrainingRecipe()
    data: str | None = Field(None, description="training data (default: the search's `data`)")
    pruner: Literal["none", "successive_halving", "hyperband"] = "successive_halving"
    min_epochs: int = Field(1, gt=0, le=1000, description="the first rung")
    reduction_factor: int = Field(3, ge=2, le=100, description="1/reduction_factor of a rung goes on to the next")
    table: str | None = Field(None, description="kind table: a CSV (or .csv.gz) with `arch` and the column to read")
    column: str | None = Field(None, description="kind table: the validation-accuracy column")
    epochs_per_query: int = Field(12, gt=0, le=10000, description="kind table: the training epochs one query costs")
    work_dir: str | None = Field(None, description="checkpoints of trainings (default: RUN/fidelity)")

    @model_validator(mode="after")
    def _table_needs_its_file(self) -> "FidelityConfig":
        if self.kind == "table":
            if not self.table or not self.column:
                raise ValueError("a table fidelity needs `table` (a CSV with an arch column) and `column`")
            if "test" in self.column.lower():
                raise ValueError(f"column {self.column!r} is a test column; a search may only select on validation "
                                 "accuracy (the test split is for reporting what it returned)")
        if self.min_epochs > self.recipe.epochs:
            raise ValueError(f"min_epochs {self.min_epochs} is more than the recipe's {self.recipe.epochs} epochs")
        return self

    def rungs(self) -> list[int]:
        """The epochs at which successive halving decides: min_epochs * reduction_factor**k, then the last."""
        if self.kind == "table" or self.pruner == "none":
            return [self.recipe.epochs] if self.kind == "train" else [self.epochs_per_query]
        out, epochs = [], self.min_epochs
        while epochs < self.recipe.epochs:
            out.append(epochs)
            epochs *= self.reduction_factor
        return [*out, self.recipe.epochs]


def make_pruner(config: FidelityConfig | None) -> Any:
    """Optuna's own pruner for the fidelity's rungs (NopPruner without a training fidelity)."""
    import optuna

    if config is None or config.kind == "table" or config.pruner == "none":
        return optuna.pruners.NopPruner()
    if config.pruner == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=config.min_epochs, max_resource=config.recipe.epochs,
                                              reduction_factor=config.reduction_factor)
    return optuna.pruners.SuccessiveHalvingPruner(min_resource=config.min_epochs,
                                                  reduction_factor=config.reduction_factor)


class TableFidelityEvaluator(Evaluator):
    """`val_accuracy` read from a benchmark table, charged `epochs_per_query` training epochs per network.

    A network with several cells in the table (isomorphic encodings of one network) gets their mean, as
    if trained once. `queries` counts the distinct networks looked up, so the epochs spent are exact.
    """

    metrics = (METRIC,)

    def __init__(self, space: Space, config: FidelityConfig) -> None:
        import pandas as pd

        table = pd.read_csv(config.table)
        if "arch" not in table.columns or config.column not in table.columns:
            raise HybridNASError(f"fidelity table {config.table}: needs columns 'arch' and {config.column!r}; it has "
                                 f"{list(table.columns)}")
        table["id"] = [space.parse(a).id for a in table["arch"]]
        self.values = table.groupby("id")[config.column].mean().to_dict()
        self.config = config
        self.queried: set[str] = set()

    def evaluate(self, arch: Arch) -> Evaluation:
        return self.evaluate_at(arch, None)

    def evaluate_at(self, arch: Arch, epochs: int | None) -> Evaluation:
        if epochs == 0:
            return Evaluation()
        value = self.values.get(arch.id)
        if value is None or not math.isfinite(value):
            return Evaluation(errors={METRIC: f"{arch.id} is not in {self.config.table}"})
        self.queried.add(arch.id)
        fidelity = {"kind": "table", "epochs": self.config.epochs_per_query,
                    "source": f"{self.config.table}#{self.config.column}"}
        return Evaluation({METRIC: float(value)}, fidelity=fidelity)

    @property
    def epochs_spent(self) -> int:
        """Training epochs the queries so far would have cost."""
        return len(self.queried) * self.config.epochs_per_query
