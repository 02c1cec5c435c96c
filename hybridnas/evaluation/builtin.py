"""The built-in evaluators: exact cost (and table latency), training-free proxies, and a scores table.

Registered as metric sources `cost` (macs, params, activations, latency_ms) and `proxy` (every registered
proxy and `ensemble:...` of them).
"""

from __future__ import annotations

import time
from typing import Any

from ..errors import HybridNASError
from ..proxies import list_proxies
from ..proxies.ensemble import is_ensemble, parse_ensemble
from ..spaces import Arch, Space
from .base import COST_METRICS, Evaluation, Evaluator, MetricSource, register_metric_source


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


def _is_proxy_metric(name: str) -> bool:
    if is_ensemble(name):
        parse_ensemble(name)  # a malformed ensemble is an error naming its members, not "unknown objective"
        return True
    return name in list_proxies()


def _proxy_evaluator(space: Space, settings: Any, metrics: list[str]) -> Evaluator:
    """Scores come from `settings.scores_table` when one is given, else are computed."""
    if settings.scores_table:
        return TableEvaluator(space, settings.scores_table, metrics)
    return ProxyEvaluator(space, metrics, settings.data, settings.seed, settings.proxy_batch_size)


register_metric_source(MetricSource("cost", lambda n: n in COST_METRICS or n == "latency_ms", None,
                                    "macs, params, activations, latency_ms"))
register_metric_source(MetricSource("proxy", _is_proxy_metric, _proxy_evaluator,
                                    "a proxy (hybridnas proxies list) or ensemble:a+b"))
