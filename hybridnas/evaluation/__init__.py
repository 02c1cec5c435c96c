"""The Evaluator protocol and the metric-source registry, below the packages that register evaluators.

Proxies (`proxies.evaluator`), latency-table cost (here) and the supernet (`supernet.evaluate`) each register
a source; the search asks `metric_source(name)` and never imports them for it.
"""

from .base import (COST_METRICS, METRIC_SOURCES, Evaluation, Evaluator, MetricSource, evaluate_all, metric_source,
                   register_metric_source)
from .builtin import CostEvaluator, TableEvaluator
from .fidelity import FidelityConfig, TableFidelityEvaluator, TrainingRecipe, make_pruner

__all__ = ["COST_METRICS", "CostEvaluator", "Evaluation", "Evaluator", "METRIC_SOURCES", "MetricSource",
           "FidelityConfig", "TableEvaluator", "TableFidelityEvaluator", "TrainingRecipe",
           "evaluate_all", "make_pruner", "metric_source", "register_metric_source"]
