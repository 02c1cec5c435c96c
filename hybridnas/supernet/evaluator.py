"""`supernet_accuracy` as a metric source: a subnet's accuracy with weights inherited from a trained supernet
(or a few-shot split of one), loaded once per worker."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from ..errors import HybridNASError
from ..evaluation import Evaluation, Evaluator, MetricSource, register_metric_source
from ..spaces import Arch, Space
from .few_shot import load_scorer


class SupernetEvaluator(Evaluator):
    """`supernet_accuracy`: test accuracy (%) with inherited weights; each worker loads the checkpoint once."""

    metrics = ("supernet_accuracy",)

    def __init__(self, space: Space, checkpoint: str | Path, test_limit: int | None = None) -> None:
        self.space, self.checkpoint, self.test_limit = space, str(checkpoint), test_limit
        self.scorer = None

    def setup(self) -> None:
        self.scorer = load_scorer(self.checkpoint, self.test_limit)
        if self.scorer.space.name != self.space.name:
            raise HybridNASError(f"supernet {self.checkpoint} is of space {self.scorer.space.name!r}, the search's is "
                                 f"{self.space.name!r}")

    def evaluate(self, arch: Arch) -> Evaluation:
        if self.scorer is None:
            self.setup()
        start = time.perf_counter()
        try:
            return Evaluation({"supernet_accuracy": self.scorer(arch)}, seconds=time.perf_counter() - start)
        except Exception as exc:  # a bad arch must not stop the search
            return Evaluation(errors={"supernet_accuracy": f"{type(exc).__name__}: {exc}"})


def _needs_checkpoint(settings: Any) -> None:
    if not settings.supernet:
        raise HybridNASError("objective supernet_accuracy needs a trained supernet: set `supernet: CKPT` in the "
                             "search config (train one with `hybridnas supernet train`)")


register_metric_source(MetricSource(
    "supernet", lambda name: name == "supernet_accuracy",
    lambda space, settings, metrics: SupernetEvaluator(space, settings.supernet, settings.supernet_test_limit),
    "supernet_accuracy (with `supernet: CKPT`)", _needs_checkpoint))
