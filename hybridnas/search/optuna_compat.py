"""Every private Optuna name hybridnas relies on, in one place.

Optuna keeps these out of its public API, so an upgrade may move them; `tests/search/test_optuna_compat.py`
fails loudly, naming the one that moved, before anything else breaks in a search.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from optuna._hypervolume import compute_hypervolume as _compute_hypervolume
from optuna.study import Study
from optuna.study._constrained_optimization import _CONSTRAINTS_KEY
from optuna.trial import FrozenTrial

# Prefix of the system attributes in which Optuna keeps a trial's constraint values ("constraints:<name>")
CONSTRAINTS_KEY: str = _CONSTRAINTS_KEY


def hypervolume(points: np.ndarray, reference: np.ndarray) -> float:
    """The hypervolume of minimisation `points` (already a Pareto front) against `reference`.

    Points that do not lie strictly below the reference in every objective add no volume and are left out
    (Optuna refuses them); no point left is a volume of 0.
    """
    points = np.asarray(points, float)
    inside = points[np.all(points < np.asarray(reference, float), axis=1)] if len(points) else points
    if len(inside) == 0:
        return 0.0
    return float(_compute_hypervolume(inside, np.asarray(reference, float), assume_pareto=True))


def study_storage(study: Study) -> Any:
    """The storage object behind a study (to release its SQLite connections)."""
    return study._storage


def set_running_trial_system_attr(study: Study, trial: FrozenTrial, key: str, value: Any) -> None:
    """Set a system attribute of a running trial from a sampler hook (Optuna has no public setter there)."""
    study._storage.set_trial_system_attr(trial._trial_id, key, value)
