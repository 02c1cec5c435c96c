"""Predictor-guided selection (BANANAS-style): a surrogate fitted on the trained networks picks the next one.

Before each trial the sampler fits scikit-learn's random forest on every finished trial (features: the
space's fixed-length encoding of the architecture, plus its proxy scores when the candidates were screened),
scores the untried candidates, and plans the one with the highest upper confidence bound (mean +
kappa * spread over the forest's trees). A fraction `explore` of the picks is a random candidate instead,
and the first `initial` picks are the candidates' best by proxy score (zero-cost warm start) or random.

Candidates are the screened networks when the search has a screen; otherwise a fresh sample within the
budget plus mutations of the best networks so far, drawn for each pick.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pandas as pd
from optuna.study import Study, StudyDirection
from pydantic import BaseModel, ConfigDict, Field
from optuna.trial import FrozenTrial, TrialState

from ..spaces import Arch, Space
from .strategies import PlannedSampler, Strategy, register_strategy
from .strategy_catalog import BUILTIN_STRATEGIES

# (arch, trained so far) -> whether it may be tried; the search passes its budget check
Feasible = Callable[[Arch], bool]


class PredictorSampler(PlannedSampler):
    """Plans each trial's architecture by a random-forest surrogate's upper confidence bound."""

    def __init__(self, space: Space, *, seed: int | None = None, initial: int = 10, candidates: int = 256,
                 explore: float = 0.1, kappa: float = 1.0, screened: pd.DataFrame | None = None,
                 feasible: Feasible | None = None, features: tuple[str, ...] = ()) -> None:
        super().__init__(space, seed)
        self.initial, self.n_candidates, self.explore, self.kappa = initial, candidates, explore, kappa
        self.feasible = feasible or (lambda arch: True)
        self.features = features
        self.screened = screened  # columns: arch, id, screen_score, and the proxy features
        self._seed = seed

    # ---- candidates ----------------------------------------------------------------------------------
    def _tried(self, study: Study) -> tuple[set[str], list[tuple[Arch, float]]]:
        """Ids of every trial's architecture (running ones included) and the finished (arch, value) pairs."""
        tried: set[str] = set()
        finished = []
        for t in study.get_trials(deepcopy=False):
            text = t.user_attrs.get("arch") or t.system_attrs.get(PLAN_ARCH_KEY)
            if text is None:
                continue
            arch = self.space.parse(text)
            tried.add(arch.id)
            if t.state == TrialState.COMPLETE and t.user_attrs.get("feasible") and t.values is not None:
                if np.isfinite(t.values[0]):
                    finished.append((arch, float(t.values[0])))
        return tried, finished

    def _candidates(self, tried: set[str], finished: list[tuple[Arch, float]], sign: float) -> pd.DataFrame:
        if self.screened is not None:
            frame = self.screened[~self.screened["id"].isin(tried)]
            return frame.reset_index(drop=True)
        archs: dict[str, Arch] = {}
        best = sorted(finished, key=lambda p: -sign * p[1])[:5]
        for _ in range(self.n_candidates * 20):
            if len(archs) >= self.n_candidates:
                break
            if best and self._rng.random() < 0.5:
                arch = self.space.mutate(best[int(self._rng.integers(len(best)))][0], self._rng)
            else:
                arch = self.space.sample(self._rng)
            if arch.id not in tried and arch.id not in archs and self.feasible(arch):
                archs[arch.id] = arch
        return pd.DataFrame({"arch": [self.space.format(a) for a in archs.values()], "id": list(archs)})

    # ---- the surrogate -------------------------------------------------------------------------------
    def _design(self, archs: list[Arch], rows: pd.DataFrame | None) -> np.ndarray:
        encoding = np.stack([np.asarray(self.space.encode(a), float) for a in archs])
        if rows is None or not self.features:
            return encoding
        return np.concatenate([encoding, tree_features(rows[list(self.features)].to_numpy(float))], axis=1)

    def _feature_rows(self, ids: list[str]) -> pd.DataFrame | None:
        if self.screened is None or not self.features:
            return None
        return self.screened.set_index("id").loc[ids].reset_index()

    def plan(self, study: Study, trial: FrozenTrial) -> Arch | None:
        from sklearn.ensemble import RandomForestRegressor

        sign = 1.0 if study.directions[0] == StudyDirection.MAXIMIZE else -1.0
        tried, finished = self._tried(study)
        pool = self._candidates(tried, finished, sign)
        if pool.empty:
            return None
        if len(finished) < self.initial or self._rng.random() < self.explore:
            if len(finished) < self.initial and "screen_score" in pool:  # zero-cost warm start: best proxy first
                pick = int(pool["screen_score"].to_numpy().argmax())
            else:
                pick = int(self._rng.integers(len(pool)))
            return self._planned(study, trial, pool["arch"].iloc[pick])
        archs = [a for a, _ in finished]
        x = self._design(archs, self._feature_rows([a.id for a in archs]))
        y = sign * np.asarray([v for _, v in finished])
        forest = RandomForestRegressor(n_estimators=100, min_samples_leaf=2, max_features=0.5,
                                       random_state=int(self._rng.integers(2**31)))
        forest.fit(x, y)
        candidates = [self.space.parse(a) for a in pool["arch"]]
        xc = self._design(candidates, self._feature_rows([a.id for a in candidates]))
        per_tree = np.stack([tree.predict(xc) for tree in forest.estimators_])
        ucb = per_tree.mean(0) + self.kappa * per_tree.std(0)
        return self._planned(study, trial, pool["arch"].iloc[int(ucb.argmax())])

    def _planned(self, study: Study, trial: FrozenTrial, text: str) -> Arch:
        from .strategies import set_trial_system_attr

        set_trial_system_attr(study, trial, PLAN_ARCH_KEY, text)  # so a batch's next pick skips it
        return self.space.parse(text)


PLAN_ARCH_KEY = "predictor:arch"
FEATURE_LIMIT = 1e38  # below float32's largest (3.4e38): scikit-learn's trees read features as float32


def tree_features(proxies: np.ndarray) -> np.ndarray:
    """Proxy scores as features a forest accepts: clipped to +-FEATURE_LIMIT (synflow reaches inf and finite
    values past float32 on wide networks), and a failed proxy (NaN) at -1e9. The same score always maps to
    the same feature, so training rows and candidates agree, and the order is kept up to the limit."""
    return np.nan_to_num(np.clip(proxies, -FEATURE_LIMIT, FEATURE_LIMIT), nan=-1e9)


class PredictorConfig(BaseModel):
    """Predictor-guided selection (strategy `predictor`): a random-forest surrogate over the architecture's
    encoding and its proxy scores, refitted after every told trial, picks the next network to train by an
    upper confidence bound over its trees; `explore` of the picks are random candidates instead."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    initial: int = Field(10, ge=1, le=10_000, description="trained networks before the surrogate is used; "
                                                          "the best by proxy score first when screened")
    candidates: int = Field(256, ge=1, le=100_000, description="candidates scored per pick without a screen")
    explore: float = Field(0.1, ge=0, le=1, allow_inf_nan=False)
    kappa: float = Field(1.0, ge=0, le=100, allow_inf_nan=False, description="UCB: mean + kappa * std over trees")


def make_predictor_sampler(space: Space, seed: int, options: Any, screened: pd.DataFrame | None,
                           feasible: Feasible | None, features: tuple[str, ...]) -> PredictorSampler:
    """The sampler of strategy `predictor` from the search's `predictor:` options."""
    return PredictorSampler(space, seed=seed, initial=options.initial, candidates=options.candidates,
                            explore=options.explore, kappa=options.kappa, screened=screened, feasible=feasible,
                            features=features)


def _predictor(space: Space, seed: int, n_objectives: int, *, predictor: Any = None, screened: Any = None,
               feasible: Feasible | None = None, features: tuple[str, ...] = (), **_: Any) -> PredictorSampler:
    return make_predictor_sampler(space, seed, predictor or PredictorConfig(), screened, feasible, features)


def _screened(space: Space, seed: int, n_objectives: int, **_: Any) -> Any:
    from optuna.samplers import RandomSampler

    return RandomSampler(seed=seed)  # the search enqueues the screened networks best-first


register_strategy(Strategy("predictor", _predictor, BUILTIN_STRATEGIES["predictor"]))
register_strategy(Strategy("screened", _screened, BUILTIN_STRATEGIES["screened"]))
