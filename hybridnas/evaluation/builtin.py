"""The domain-free evaluators: exact cost (and table latency), and metrics looked up in a scores table.

Registered as the metric source `cost` (macs, params, activations, latency_ms). Proxies (proxies/evaluator.py)
and the supernet (supernet/evaluate.py) register their own sources.
"""

from __future__ import annotations

from ..errors import HybridNASError
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


register_metric_source(MetricSource("cost", lambda n: n in COST_METRICS or n == "latency_ms", None,
                                    "macs, params, activations, latency_ms"))
