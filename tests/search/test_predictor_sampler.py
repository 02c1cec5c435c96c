"""The predictor strategy's surrogate features: any proxy score a screen can produce is a feature it accepts."""

import numpy as np
import optuna
import pandas as pd

from hybridnas import load_space
from hybridnas.search.predictor_sampler import FEATURE_LIMIT, PredictorSampler, tree_features


def test_tree_features_are_finite_float32_and_keep_the_order():
    raw = np.array([[-np.inf], [-5e40], [-3.0], [np.nan], [2.0], [1e39], [np.inf]])
    features = tree_features(raw)
    assert np.isfinite(features.astype(np.float32)).all()
    finite = features[[0, 2, 4, 6], 0]
    assert list(finite) == sorted(finite) and features[3, 0] == -1e9 and features[6, 0] == FEATURE_LIMIT


def test_the_surrogate_plans_when_screened_scores_hold_inf_and_nan():
    """A screen of wide networks left synflow at inf for some candidates: the surrogate still fits and picks."""
    space = load_space("nasbench_macro")
    rng = np.random.default_rng(0)
    archs = list(dict.fromkeys(space.sample(rng) for _ in range(40)))
    synflow = rng.normal(size=len(archs)) * 1e39
    synflow[::5], synflow[1::7] = np.inf, np.nan
    screened = pd.DataFrame({"arch": [space.format(a) for a in archs], "id": [a.id for a in archs],
                             "screen_score": rng.normal(size=len(archs)), "synflow": synflow})
    sampler = PredictorSampler(space, seed=0, initial=4, explore=0.0, screened=screened, features=("synflow",))
    study = optuna.create_study(direction="maximize")
    for _ in range(8):
        trial = study.ask()
        arch = sampler.plan(study, study._storage.get_trial(trial._trial_id))
        trial.set_user_attr("arch", space.format(arch))
        trial.set_user_attr("feasible", True)
        study.tell(trial, float(rng.random()))
    planned = [t.user_attrs["arch"] for t in study.trials]
    assert len(set(planned)) == 8 and set(planned) <= set(screened["arch"])
