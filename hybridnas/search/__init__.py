"""Search under budgets: Optuna strategies on Ray workers, a resumable run store, Pareto queries."""

from .config import Objective, SearchConfig, load_search_config
from ..evaluation import CostEvaluator, Evaluation, Evaluator, ProxyEvaluator
from .pareto import hypervolume, pareto_front, query
from .runner import SearchResult, run_search
from .store import RunStore
from .strategies import RegularizedEvolutionSampler, make_sampler

__all__ = ["CostEvaluator", "Evaluation", "Evaluator", "Objective", "ProxyEvaluator", "RegularizedEvolutionSampler",
           "RunStore", "SearchConfig", "SearchResult", "hypervolume", "load_search_config", "make_sampler",
           "pareto_front", "query", "run_search"]
