"""Search under budgets: Optuna strategies on Ray workers, a resumable run store, Pareto queries.

Names load on first use (`hybridnas.lazy`): the command line reads a few of them without Optuna or torch.
"""

from ..lazy import lazy_exports

__all__ = ["CostEvaluator", "Evaluation", "Evaluator", "JournalRecord", "Objective", "RegularizedEvolutionSampler",
           "RunFront", "RunStore", "SearchConfig", "SearchResult", "front", "hypervolume", "load_search_config",
           "make_sampler", "make_strategy_sampler", "register_strategy", "STRATEGIES", "Strategy",
           "pareto_front", "query", "run_search"]

__getattr__, __dir__ = lazy_exports(__name__, {
    "Objective": ".config", "SearchConfig": ".config", "load_search_config": ".config",
    "CostEvaluator": "..evaluation", "Evaluation": "..evaluation", "Evaluator": "..evaluation",
    "JournalRecord": ".record", "RunFront": ".pareto", "front": ".pareto", "hypervolume": ".pareto", "pareto_front": ".pareto", "query": ".pareto",
    "SearchResult": ".runner", "run_search": ".runner", "RunStore": ".store", "STRATEGIES": ".strategies",
    "RegularizedEvolutionSampler": ".strategies", "Strategy": ".strategies",
    "make_strategy_sampler": ".strategies", "register_strategy": ".strategies",
    "make_sampler": ".strategies",  # the earlier name of make_strategy_sampler (supernet.make_sampler differs)
})
