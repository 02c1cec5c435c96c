"""What a search can measure: the Evaluator base and the registry of metric sources.

An evaluator names the metrics it provides and implements `evaluate`; `setup` runs once per worker
(build data batches, set threads) and defaults to nothing (Optuna-style small base). A metric source
says which metric names it provides and builds the evaluator for them from its own typed settings; the
search asks the registry, so a package that adds a metric (the supernet adds `supernet_accuracy`)
registers a source and the search needs no change and imports nothing of it.

The packages above this layer that register sources are found by module name when the registry is first
asked (`SOURCE_MODULES`), and so are third-party ones declared under the entry-point group
`hybridnas.metric_sources`: plugin discovery, so the search never imports proxies or the supernet.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Mapping, Protocol, Sequence

from pydantic import BaseModel, ConfigDict

from ..errors import HybridNASError
from ..registry import Registry
from ..spaces import Arch, Space

if TYPE_CHECKING:
    import pandas as pd

COST_METRICS = ("macs", "params", "activations")
# modules that register the shipped metric sources, imported on the registry's first use
SOURCE_MODULES = ("hybridnas.proxies.evaluator", "hybridnas.supernet.evaluator", "hybridnas.supernet.fidelity")
ENTRY_POINT_GROUP = "hybridnas.metric_sources"


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

    def discard(self, arch: Arch) -> None:
        """Drop what this evaluator keeps to resume `arch`'s evaluation: the search will not ask for it again
        (successive halving stopped its training). Evaluators that keep nothing ignore it."""


def format_errors(errors: Mapping[str, str]) -> str:
    """'metric: reason; metric: reason', the form tables and journals store failures in."""
    return "; ".join(f"{k}: {v}" for k, v in errors.items())


class SourceSettings(BaseModel):
    """The part of a search's settings that one metric source reads. Each source declares a subclass with the
    fields it needs, named as in the search config; the search fills it from its config by name."""

    model_config = ConfigDict(extra="ignore", frozen=True)  # a config's other fields are other sources'

    @classmethod
    def from_config(cls, config: BaseModel | Mapping[str, Any]) -> "SourceSettings":
        """The fields of `config` (a search config, or its dump) that this model declares."""
        if isinstance(config, Mapping):
            return cls.model_validate(config)
        return cls.model_validate({name: getattr(config, name) for name in cls.model_fields if hasattr(config, name)})


class Ranking(Protocol):
    """An objective scored against a reference population (an ensemble's percentiles of its members)."""

    @property
    def members(self) -> list[str]:
        """The metrics it combines (each computed by an evaluator)."""

    def fit_reference(self, frame: pd.DataFrame) -> "Ranking":
        """Freeze the reference population's distribution (one column per member); returns itself."""

    def score(self, frame: pd.DataFrame) -> pd.Series:
        """The score of each row of `frame` (one column per member), higher is better."""


@dataclass(frozen=True)
class MetricSource:
    """Metrics one kind of evaluator provides.

    Args:
        name: the source's registry name ('cost', 'proxy', 'supernet', ...).
        provides: whether a metric name (an objective) comes from this source.
        make: (space, settings, metric names) -> the Evaluator a worker runs; None for the cost
            source, which the search runs itself before any budget check.
        describe: what to write where the source is listed in an error.
        check: optional (settings, metric names) -> None that raises a HybridNASError for missing settings.
        in_process: (settings) -> whether its evaluator is cheap enough to run in the search's own
            process (a table lookup); otherwise the search runs it on its worker pool.
        settings: the source's settings model, filled from the search config by field name.
        members: (objective) -> the single metrics its evaluator computes for it (an ensemble's members).
        ranking: optional (objective) -> an unfitted Ranking of the objective's members, for objectives
            ranked against a reference population (and for screening candidates by one metric).
        ranked: (objective) -> whether the objective's value is its Ranking's score (an ensemble) rather
            than a metric an evaluator returns.
    """

    name: str
    provides: Callable[[str], bool]
    make: Callable[[Space, Any, list[str]], Evaluator] | None
    describe: str
    check: Callable[[Any, list[str]], None] | None = None
    in_process: Callable[[Any], bool] = lambda settings: False
    settings: type[SourceSettings] = SourceSettings
    members: Callable[[str], list[str]] = lambda name: [name]
    ranking: Callable[[str], Ranking] | None = None
    ranked: Callable[[str], bool] = lambda name: False

    def settings_for(self, config: Any) -> SourceSettings:
        """This source's settings, read by field name from a search config."""
        return self.settings.from_config(config)

    def runs_in_process(self, config: Any) -> bool:
        """Whether its evaluator runs in the search's own process under search config `config`."""
        return self.in_process(self.settings_for(config))


METRIC_SOURCES: Registry[MetricSource] = Registry("metric source")


def register_metric_source(source: MetricSource) -> MetricSource:
    """Add (or replace) a metric source under its name."""
    return METRIC_SOURCES.register(source.name)(source)


def load_metric_sources() -> None:
    """Import the modules that register metric sources (the shipped ones, then entry-point plugins); once."""
    if getattr(load_metric_sources, "done", False):
        return
    load_metric_sources.done = True  # type: ignore[attr-defined]
    for module in SOURCE_MODULES:
        importlib.import_module(module)
    from importlib.metadata import entry_points

    for entry in entry_points(group=ENTRY_POINT_GROUP):
        entry.load()


def source_named(name: str) -> MetricSource:
    """The registered source called `name` ('proxy', 'supernet', ...)."""
    load_metric_sources()
    return METRIC_SOURCES.get(name)


def metric_source(name: str) -> MetricSource:
    """The source that provides metric `name`, or a HybridNASError listing what every source provides."""
    load_metric_sources()
    for key in METRIC_SOURCES:
        source = METRIC_SOURCES.get(key)
        if source.provides(name):
            return source
    listed = "; ".join(f"{key}: {METRIC_SOURCES.get(key).describe}" for key in METRIC_SOURCES)
    raise HybridNASError(f"unknown objective {name!r}; metrics come from {listed}")


def objective_ranking(name: str) -> Ranking:
    """An unfitted Ranking of objective `name` (an ensemble, or one metric); a HybridNASError for a metric whose
    source cannot rank it."""
    load_metric_sources()
    for key in METRIC_SOURCES:  # 'params' is a cost metric and a proxy: the proxy source ranks it
        source = METRIC_SOURCES.get(key)
        if source.ranking is not None and source.provides(name):
            return source.ranking(name)
    raise HybridNASError(f"{name!r} cannot rank candidates (the {metric_source(name).name} source's metrics are not "
                         "ranked against a reference); use a training-free proxy or an ensemble:a+b")


def split_members(names: Sequence[str]) -> tuple[list[str], list[str]]:
    """The single metrics that evaluators compute for objectives `names` (ensemble members included, each once),
    and the names whose value is a ranking fitted on the reference sample (ensembles)."""
    singles: list[str] = []
    ranked: list[str] = []
    for name in names:
        source = metric_source(name)
        if source.ranked(name):
            ranked.append(name)
        singles += [m for m in source.members(name) if m not in singles]
    return singles, ranked


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


def discard_all(evaluators: list[Evaluator], arch: Arch) -> None:
    """Tell every evaluator that `arch` will not be evaluated again (see `Evaluator.discard`)."""
    for evaluator in evaluators:
        evaluator.discard(arch)
