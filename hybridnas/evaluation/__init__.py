"""Evaluators and the metric-source registry, one level below search and supernet."""

from .base import (COST_METRICS, METRIC_SOURCES, Evaluation, Evaluator, MetricSource, evaluate_all, metric_source,
                   register_metric_source)
from .builtin import CostEvaluator, ProxyEvaluator, TableEvaluator

__all__ = ["COST_METRICS", "CostEvaluator", "Evaluation", "Evaluator", "METRIC_SOURCES", "MetricSource",
           "ProxyEvaluator", "TableEvaluator", "evaluate_all", "metric_source", "register_metric_source"]
