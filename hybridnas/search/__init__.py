"""Search under budgets: Optuna strategies on Ray workers, a resumable run store, Pareto queries."""

from .config import Objective, SearchConfig, load_search_config
from ..evaluation import CostEvaluator, Evaluation, Evaluator
from ..proxies import ProxyEvaluator
from .pareto import hypervolume, pareto_front, query
from .runner import SearchResult, run_search
from .store import RunStore
from .strategies import STRATEGIES, RegularizedEvolutionSampler, Strategy, make_strategy_sampler, register_strategy

make_sampler = make_strategy_sampler  # the earlier name; supernet.make_sampler is a different thing

__all__ = ["CostEvaluator", "Evaluation", "Evaluator", "Objective", "ProxyEvaluator", "RegularizedEvolutionSampler",
           "RunStore", "SearchConfig", "SearchResult", "hypervolume", "load_search_config", "make_sampler",
           "make_strategy_sampler", "register_strategy", "STRATEGIES", "Strategy",
           "pareto_front", "query", "run_search"]
