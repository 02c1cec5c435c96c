"""The Evaluator protocol and the metric-source registry, below the packages that register evaluators.

Proxies (`proxies.evaluator`), latency-table cost (here) and the supernet (`supernet.evaluate`) each register
a source; the search asks `metric_source(name)` and never imports them (the registry finds them by name).
"""

from .base import (COST_METRICS, METRIC_SOURCES, Evaluation, Evaluator, MetricSource, Ranking, SourceSettings,
                   discard_all, evaluate_all, format_errors, load_metric_sources, metric_source, objective_ranking,
                   register_metric_source, source_named, split_members)
from .builtin import CostEvaluator, TableEvaluator
from .fidelity import FidelityConfig, TableFidelityEvaluator, TrainingRecipe, make_pruner

__all__ = ["COST_METRICS", "CostEvaluator", "Evaluation", "Evaluator", "METRIC_SOURCES", "MetricSource",
           "FidelityConfig", "Ranking", "SourceSettings", "TableEvaluator", "TableFidelityEvaluator", "TrainingRecipe",
           "discard_all", "evaluate_all", "format_errors", "load_metric_sources", "make_pruner", "metric_source", "objective_ranking",
           "register_metric_source", "source_named", "split_members"]
