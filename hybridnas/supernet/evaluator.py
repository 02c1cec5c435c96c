"""`supernet_accuracy` as a metric source: a subnet's accuracy with weights inherited from a trained supernet
(or a few-shot split of one), loaded once per worker."""

from __future__ import annotations

import time
from pathlib import Path

from ..errors import HybridNASError
from ..evaluation import Evaluation, Evaluator, MetricSource, SourceSettings, register_metric_source
from ..spaces import Arch, Space
from .few_shot import load_scorer


class SupernetEvaluator(Evaluator):
    """`supernet_accuracy`: test accuracy (%) with inherited weights; each worker loads the checkpoint once."""

    metrics = ("supernet_accuracy",)

    def __init__(self, space: Space, checkpoint: str | Path, test_limit: int | None = None,
                 device: str | None = None) -> None:
        self.space, self.checkpoint, self.test_limit, self.device = space, str(checkpoint), test_limit, device
        self.scorer = None

    def setup(self) -> None:
        self.scorer = load_scorer(self.checkpoint, self.test_limit, device=self.device)
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


class SupernetSettings(SourceSettings):
    """What the supernet source reads of a search's settings: the checkpoint, the test images, the device."""

    supernet: str | None = None
    supernet_test_limit: int | None = None
    device: str | None = None


def _needs_checkpoint(settings: SupernetSettings, metrics: list[str]) -> None:
    if not settings.supernet:
        raise HybridNASError("objective supernet_accuracy needs a trained supernet: set `supernet: CKPT` in the "
                             "search config (train one with `hybridnas supernet train`)")


register_metric_source(MetricSource(
    "supernet", lambda name: name == "supernet_accuracy",
    lambda space, settings, metrics: SupernetEvaluator(space, settings.supernet, settings.supernet_test_limit,
                                                       settings.device),
    "supernet_accuracy (with `supernet: CKPT`)", _needs_checkpoint, settings=SupernetSettings))
