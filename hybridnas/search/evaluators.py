"""Evaluators: what a search measures for an architecture. Latency and supernet evaluators plug in here.

An evaluator names the metrics it provides and implements `evaluate`; `setup` runs once per worker
(build data batches, set threads) and defaults to nothing (Optuna-style small base).
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

from ..errors import HybridNASError
from ..spaces import Arch, Space

COST_METRICS = ("macs", "params", "activations")


@dataclass
class Evaluation:
    """Metrics of one architecture, the failures with their reasons, and the seconds spent."""

    metrics: dict[str, float] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


class Evaluator(ABC):
    """Measures some metrics of architectures of one space."""

    metrics: tuple[str, ...] = ()

    def setup(self) -> None:
        """Once per worker before the first evaluation (optional)."""

    @abstractmethod
    def evaluate(self, arch: Arch) -> Evaluation:
        """The metrics of one architecture; failures go in `errors`, never raise for a bad arch."""


class CostEvaluator(Evaluator):
    """Analytic MACs, params and activations, plus predicted `latency_ms` when given a latency table.

    Cheap (nothing is built or run), so the search runs it before any budget check.
    """

    def __init__(self, space: Space, latency_table=None) -> None:
        self.space, self.latency_table = space, latency_table
        self.metrics = COST_METRICS + (("latency_ms",) if latency_table is not None else ())

    def evaluate(self, arch: Arch) -> Evaluation:
        cost = self.space.cost(arch)
        metrics = {m: float(getattr(cost, m)) for m in COST_METRICS}
        if self.latency_table is not None:
            metrics["latency_ms"] = self.latency_table.predict(self.space, arch)
        return Evaluation(metrics)


class ProxyEvaluator(Evaluator):
    """Training-free proxies from one shared-pass score per architecture."""

    def __init__(self, space: Space, proxies: list[str], data: str, seed: int, batch_size: int) -> None:
        self.space, self.proxies, self.data, self.seed, self.batch_size = space, proxies, data, seed, batch_size
        self.metrics = tuple(proxies)
        self.batch = None

    def setup(self) -> None:
        """Build the data batch once per worker; every evaluation reuses it."""
        from ..data import get_batch

        self.batch = get_batch(self.data, self.batch_size, self.space.input_shape, self.space.num_classes, self.seed)

    def evaluate(self, arch: Arch) -> Evaluation:
        from ..proxies.engine import score_or_failure

        start = time.perf_counter()
        result = score_or_failure(arch, self.proxies, self.data, self.seed, space=self.space,
                                  batch_size=self.batch_size, batch=self.batch)
        return Evaluation(dict(result.values), dict(result.errors), time.perf_counter() - start)


class TableEvaluator(Evaluator):
    """Metrics looked up from a table of precomputed scores (e.g. `hybridnas proxies score --csv` output).

    The table needs an `arch` column (strings of the space; they are canonicalised) and one column per
    metric; an architecture missing from the table gets an error, not a made-up value.
    """

    def __init__(self, space: Space, path: str, metrics: list[str]) -> None:
        import pandas as pd

        table = pd.read_csv(path, dtype={"arch": str})
        missing = [c for c in ["arch", *metrics] if c not in table.columns]
        if missing:
            raise HybridNASError(f"scores table {path}: missing columns {missing}; it has {list(table.columns)}")
        table["id"] = [space.parse(a).id for a in table["arch"]]
        self.path, self.metrics = path, tuple(metrics)
        self.rows = table.drop_duplicates("id").set_index("id")[list(metrics)].to_dict("index")

    def evaluate(self, arch: Arch) -> Evaluation:
        row = self.rows.get(arch.id)
        if row is None:
            return Evaluation(errors={"table": f"{arch.id} is not in {self.path}"})
        values = {k: float(v) for k, v in row.items() if v == v}  # NaN: that score failed
        return Evaluation(values, {k: "missing in table" for k, v in row.items() if v != v})


def metric_kind(name: str) -> str:
    """'cost', 'proxy', 'ensemble', or raises naming what metrics are available."""
    from ..proxies import list_proxies
    from ..proxies.ensemble import is_ensemble, parse_ensemble

    if name in COST_METRICS:
        return "cost"
    if is_ensemble(name):
        parse_ensemble(name)
        return "ensemble"
    if name in list_proxies():
        return "proxy"
    if name == "latency_ms":
        return "cost"
    if name == "supernet_accuracy":
        return "supernet"
    raise HybridNASError(f"unknown objective {name!r}; use a proxy ({', '.join(list_proxies())}), "
                         f"an ensemble (ensemble:a+b), or one of {', '.join(COST_METRICS + ('latency_ms', 'supernet_accuracy'))}")


def evaluate_all(evaluators: list[Evaluator], arch: Arch) -> Evaluation:
    """Run several evaluators on one architecture and merge their results."""
    merged = Evaluation()
    for evaluator in evaluators:
        part = evaluator.evaluate(arch)
        merged.metrics.update(part.metrics)
        merged.errors.update(part.errors)
        merged.seconds += part.seconds
    return merged
