"""What a search can measure: the Evaluator base and the registry of metric sources.

An evaluator names the metrics it provides and implements `evaluate`; `setup` runs once per worker
(build data batches, set threads) and defaults to nothing (Optuna-style small base). A metric source
says which metric names it provides and builds the evaluator for them; the search asks the registry,
so a package that adds a metric (the supernet adds `supernet_accuracy`) registers a source and the
search needs no change.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Callable

from ..errors import HybridNASError
from ..registry import Registry
from ..spaces import Arch, Space

COST_METRICS = ("macs", "params", "activations")


@dataclass
class Evaluation:
    """Metrics of one architecture, the failures with their reasons, and the seconds spent."""

    metrics: dict[str, float] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    fidelity: dict[str, Any] = field(default_factory=dict)  # a trained score's epochs, images, recipe; per-epoch curve


class Evaluator(ABC):
    """Measures some metrics of architectures of one space."""

    metrics: tuple[str, ...] = ()

    def setup(self) -> None:
        """Once per worker before the first evaluation (optional)."""

    @abstractmethod
    def evaluate(self, arch: Arch) -> Evaluation:
        """The metrics of one architecture; failures go in `errors`, never raise for a bad arch."""

    def evaluate_at(self, arch: Arch, epochs: int | None) -> Evaluation:
        """The metrics at a training fidelity of `epochs` (None: the full one; 0: training-free metrics only).

        Evaluators that train nothing ignore `epochs`; a training fidelity trains (or resumes) to it.
        """
        return self.evaluate(arch)


@dataclass(frozen=True)
class MetricSource:
    """Metrics one kind of evaluator provides.

    Args:
        name: the source's registry name ('cost', 'proxy', 'supernet', ...).
        provides: whether a metric name (an objective) comes from this source.
        make: (space, search settings, metric names) -> the Evaluator a worker runs; None for the cost
            source, which the search runs itself before any budget check.
        describe: what to write where the source is listed in an error.
        check: optional (search settings) -> None that raises a HybridNASError for missing settings.
        in_process: (search settings) -> whether its evaluator is cheap enough to run in the search's own
            process (a table lookup); otherwise the search runs it on its worker pool.
    """

    name: str
    provides: Callable[[str], bool]
    make: Callable[[Space, Any, list[str]], Evaluator] | None
    describe: str
    check: Callable[[Any], None] | None = None
    in_process: Callable[[Any], bool] = lambda settings: False


METRIC_SOURCES: Registry[MetricSource] = Registry("metric source")


def register_metric_source(source: MetricSource) -> MetricSource:
    """Add (or replace) a metric source under its name."""
    return METRIC_SOURCES.register(source.name)(source)


def metric_source(name: str) -> MetricSource:
    """The source that provides metric `name`, or a HybridNASError listing what every source provides."""
    for key in METRIC_SOURCES:
        source = METRIC_SOURCES.get(key)
        if source.provides(name):
            return source
    listed = "; ".join(f"{key}: {METRIC_SOURCES.get(key).describe}" for key in METRIC_SOURCES)
    raise HybridNASError(f"unknown objective {name!r}; metrics come from {listed}")


def evaluate_all(evaluators: list[Evaluator], arch: Arch, epochs: int | None = None) -> Evaluation:
    """Run several evaluators on one architecture (at a training fidelity of `epochs`) and merge their results."""
    merged = Evaluation()
    for evaluator in evaluators:
        part = evaluator.evaluate_at(arch, epochs)
        merged.metrics.update(part.metrics)
        merged.errors.update(part.errors)
        merged.fidelity.update(part.fidelity)
        merged.seconds += part.seconds
    return merged
