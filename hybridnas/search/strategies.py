"""Search strategies as Optuna samplers: NSGA-II, TPE, random, regularized evolution, exhaustive.

Regularized evolution (Real et al., AAAI 2019) is an Optuna sampler that uses the space's own mutation
and crossover: before each trial it picks a parent by tournament among the newest `population_size`
feasible trials, mutates it (optionally crossed with a second winner), and answers the trial's
`suggest` calls with the child's parameters (`Space.to_params`). Exhaustive enumeration enqueues
every distinct network of a small space.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
import optuna
from optuna.distributions import BaseDistribution
from optuna.samplers import BaseSampler, RandomSampler
from optuna.study import Study
from optuna.trial import FrozenTrial, TrialState

from ..errors import HybridNASError
from ..registry import Registry
from .optuna_compat import set_running_trial_system_attr
from .strategy_catalog import BUILTIN_STRATEGIES as ABOUT
from ..spaces import Space

PLAN_KEY = "evolution:plan"


class PlannedSampler(BaseSampler):
    """A sampler that picks a whole architecture before each trial and answers its `suggest` calls with it.

    Subclasses implement `plan(study, trial)`, returning the architecture to try (or None: random
    sampling). The plan is kept in the trial's system attributes, so a resumed study answers the same.
    """

    def __init__(self, space: Space, seed: int | None = None) -> None:
        self.space = space
        self._rng = np.random.default_rng(seed)
        self._random = RandomSampler(seed=seed)

    def reseed_rng(self) -> None:
        self._rng = np.random.default_rng()
        self._random.reseed_rng()

    def infer_relative_search_space(self, study: Study, trial: FrozenTrial) -> dict[str, BaseDistribution]:
        return {}

    def sample_relative(self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]) -> dict:
        return {}

    def plan(self, study: Study, trial: FrozenTrial) -> Any:
        """The architecture the next trial tries, or None to sample it at random."""
        return None

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        if trial.system_attrs.get(PLAN_KEY) or "fixed_params" in trial.system_attrs:
            return
        arch = self.plan(study, trial)
        if arch is not None:
            set_trial_system_attr(study, trial, PLAN_KEY, self.space.to_params(arch))

    def sample_independent(self, study: Study, trial: FrozenTrial, param_name: str,
                           param_distribution: BaseDistribution) -> Any:
        plan = trial.system_attrs.get(PLAN_KEY) or {}
        if param_name in plan:
            value = plan[param_name]
            try:
                if param_distribution._contains(param_distribution.to_internal_repr(value)):
                    return value
            except (ValueError, TypeError):
                pass
        return self._random.sample_independent(study, trial, param_name, param_distribution)


def set_trial_system_attr(study: Study, trial: FrozenTrial, key: str, value: Any) -> None:
    """Optuna has no public setter for a running trial's system attributes inside a sampler hook."""
    set_running_trial_system_attr(study, trial, key, value)


class RegularizedEvolutionSampler(PlannedSampler):
    """Aging evolution over architectures with tournament selection; keyword-only strategy options."""

    def __init__(self, space: Space, *, population_size: int = 32, tournament_size: int = 8,
                 crossover_prob: float = 0.0, seed: int | None = None) -> None:
        if tournament_size > population_size:
            raise HybridNASError(f"tournament_size {tournament_size} is larger than population_size "
                                 f"{population_size}; use a tournament of at most the population")
        super().__init__(space, seed)
        self.population_size, self.tournament_size, self.crossover_prob = population_size, tournament_size, crossover_prob

    def _winner(self, study: Study, population: Sequence[FrozenTrial]) -> FrozenTrial:
        picks = self._rng.choice(len(population), self.tournament_size, replace=False)
        contenders = [population[i] for i in picks]
        sign = 1.0 if study.directions[0] == optuna.study.StudyDirection.MAXIMIZE else -1.0
        return max(contenders, key=lambda t: sign * t.values[0])

    def plan(self, study: Study, trial: FrozenTrial) -> Any:
        population = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
                      if t.user_attrs.get("feasible") and "arch" in t.user_attrs][-self.population_size:]
        if len(population) < self.population_size:
            return None  # still filling the initial population: random sampling
        parent = self.space.parse(self._winner(study, population).user_attrs["arch"])
        if self._rng.random() < self.crossover_prob:
            parent = self.space.crossover(parent, self.space.parse(self._winner(study, population).user_attrs["arch"]),
                                          self._rng)
        return self.space.mutate(parent, self._rng)


@dataclass(frozen=True)
class Strategy:
    """A search strategy: how to make its Optuna sampler, and whether it enumerates the whole space.

    `make(space, seed, n_objectives, population_size=..., tournament_size=...)` returns the sampler.
    """

    name: str
    make: Callable[..., BaseSampler]
    description: str
    enumerates: bool = False


STRATEGIES: Registry[Strategy] = Registry("strategy")


def register_strategy(strategy: Strategy) -> Strategy:
    """Add (or replace) a strategy under its name; config validation, the CLI and errors read the registry."""
    return STRATEGIES.register(strategy.name)(strategy)


def _tpe(space: Space, seed: int, n_objectives: int, **_: Any) -> BaseSampler:
    return optuna.samplers.TPESampler(seed=seed, multivariate=n_objectives > 1)


register_strategy(Strategy("nsga2", lambda space, seed, n, population_size=32, **_: optuna.samplers.NSGAIISampler(
    seed=seed, population_size=population_size), ABOUT["nsga2"]))
register_strategy(Strategy("tpe", _tpe, ABOUT["tpe"]))
register_strategy(Strategy("random", lambda space, seed, n, **_: RandomSampler(seed=seed), ABOUT["random"]))
register_strategy(Strategy("evolution", lambda space, seed, n, population_size=32, tournament_size=8, **_:
                           RegularizedEvolutionSampler(space, population_size=population_size,
                                                       tournament_size=tournament_size, seed=seed),
                           ABOUT["evolution"]))
register_strategy(Strategy("exhaustive", lambda space, seed, n, **_: RandomSampler(seed=seed),
                           ABOUT["exhaustive"], enumerates=True))


def make_strategy_sampler(strategy: str, space: Space, seed: int, n_objectives: int, *, population_size: int = 32,
                          tournament_size: int = 8, **options: Any) -> BaseSampler:
    """The Optuna sampler of a registered strategy; budgets reach samplers through trial constraints.

    `options` reach the strategy's factory (the predictor's settings, screened candidates, budget check)."""
    if strategy not in STRATEGIES:
        raise HybridNASError(f"unknown strategy {strategy!r}; registered: {', '.join(STRATEGIES.list())}")
    return STRATEGIES.get(strategy).make(space, seed, n_objectives, population_size=population_size,
                                         tournament_size=tournament_size, **options)


def enqueue_all(study: Study, space: Space, limit: int) -> int:
    """Exhaustive search: enqueue up to `limit` distinct networks not yet tried; returns how many."""
    tried = {t.user_attrs.get("arch_id") for t in study.get_trials(deepcopy=False)}
    count = 0
    for arch in space.enumerate():
        if count >= limit:
            break
        if arch.id not in tried:
            study.enqueue_trial(space.to_params(arch), skip_if_exists=True)
            count += 1
    return count


make_sampler = make_strategy_sampler  # the earlier name; supernet.make_sampler is a different thing
