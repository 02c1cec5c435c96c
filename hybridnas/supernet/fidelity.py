"""The training fidelity as a metric source: `val_accuracy` of a network trained from scratch with a recipe.

Registered as the metric source `fidelity`. With `fidelity.kind: train` each candidate trains with the
standalone trainer (the supernet's optimizer, schedule and augmentation), scored on a held-out part of the
training split; every epoch is checkpointed under the run folder, so a killed worker, a promotion to the
next rung of successive halving, or a `--resume` continues the training instead of restarting it. With
`kind: table` the score is read from a benchmark table (evaluation.fidelity.TableFidelityEvaluator).
"""

from __future__ import annotations

import math
import time
from pathlib import Path

from ..evaluation import (Evaluation, Evaluator, FidelityConfig, MetricSource, SourceSettings,
                          TableFidelityEvaluator, register_metric_source)
from ..evaluation.fidelity import METRIC
from ..rng import seeded
from ..spaces import Arch, Space
from .config import SupernetConfig


class TrainingFidelityEvaluator(Evaluator):
    """Trains each architecture with `config.recipe` to the asked epochs (resuming its checkpoint)."""

    metrics = (METRIC,)

    def __init__(self, space: Space, config: FidelityConfig, data: str, device: str = "cpu") -> None:
        if config.work_dir is None:
            raise ValueError("a training fidelity needs a work_dir for its checkpoints (the search sets RUN/fidelity)")
        self.space, self.config, self.device = space, config, device
        recipe = config.recipe
        self.training = SupernetConfig(space=space.source, data=config.data or data, epochs=recipe.epochs,
                                       batch_size=recipe.batch_size, optimizer=recipe.optimizer, lr=recipe.lr,
                                       weight_decay=recipe.weight_decay, warmup_epochs=recipe.warmup_epochs,
                                       label_smoothing=recipe.label_smoothing, seed=recipe.seed,
                                       device="cuda" if device.startswith("cuda") else "cpu", data_workers=0)
        self.digest = recipe.digest()

    def checkpoint(self, arch: Arch) -> Path:
        """Where this network's training under this recipe is checkpointed."""
        return Path(self.config.work_dir) / f"{arch.id}-{self.digest}.pt"

    def evaluate(self, arch: Arch) -> Evaluation:
        return self.evaluate_at(arch, None)

    def discard(self, arch: Arch) -> None:
        """Delete the checkpoint of a training the search stopped: it holds the model and the optimizer's two
        moments (190 MB for a 130M-MAC network), and nothing resumes it. Finished trainings keep theirs."""
        self.checkpoint(arch).unlink(missing_ok=True)

    def evaluate_at(self, arch: Arch, epochs: int | None) -> Evaluation:
        from .standalone import train_standalone

        if epochs == 0:
            return Evaluation()
        target = self.config.recipe.epochs if epochs is None else min(epochs, self.config.recipe.epochs)
        checkpoint = self.checkpoint(arch)
        checkpoint.parent.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        try:
            with seeded(self.config.recipe.seed):  # the initial weights: one recipe seed, one network
                model = self.space.build(arch)
            result = train_standalone(model, self.training, checkpoint=checkpoint, resume=checkpoint.is_file(),
                                      curve=True, holdout=self.config.recipe.holdout,
                                      train_fraction=self.config.recipe.train_fraction, stop_after=target)
        except (RuntimeError, MemoryError, ValueError) as exc:  # one network that cannot train is one failed row
            return Evaluation(errors={METRIC: f"{type(exc).__name__}: {str(exc)[:200]}"},
                              seconds=time.perf_counter() - start)
        curve = [float(a) for a in result["curve"]]
        fidelity = {"kind": "train", "epochs": int(result["epochs"]), "images": int(result["images"]),
                    "recipe": self.digest, "train_seconds": round(float(result["seconds"]), 2), "curve": curve}
        value = float(result["accuracy"])
        if not math.isfinite(value):
            return Evaluation(errors={METRIC: f"accuracy is {value}"}, fidelity=fidelity)
        return Evaluation({METRIC: value}, seconds=time.perf_counter() - start, fidelity=fidelity)


class FidelitySettings(SourceSettings):
    """What the training fidelity reads of a search's settings."""

    fidelity: FidelityConfig | None = None
    data: str = "gaussian"
    device: str = "cpu"


def _fidelity_evaluator(space: Space, settings: FidelitySettings, metrics: list[str]) -> Evaluator:
    config: FidelityConfig = settings.fidelity
    if config.kind == "table":
        return TableFidelityEvaluator(space, config)
    return TrainingFidelityEvaluator(space, config, settings.data, settings.device)


def _needs_fidelity(settings: FidelitySettings, metrics: list[str]) -> None:
    from ..errors import HybridNASError

    if settings.fidelity is None:
        raise HybridNASError("objective val_accuracy needs a training fidelity: add `fidelity:` to the search config "
                             "(kind: train with a recipe, or kind: table with a benchmark table)")
    if settings.fidelity.kind == "train" and (settings.fidelity.data or settings.data) == "gaussian":
        raise HybridNASError("a training fidelity needs real data: set `data:` (or fidelity.data) to cifar10:DIR, "
                             "npz:FILE or imagefolder:DIR")


register_metric_source(MetricSource(
    "fidelity", lambda name: name == METRIC, _fidelity_evaluator,
    "val_accuracy (with `fidelity:` a trained or table-backed score)", _needs_fidelity,
    in_process=lambda settings: settings.fidelity is not None and settings.fidelity.kind == "table",
    settings=FidelitySettings))
