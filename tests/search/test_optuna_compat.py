"""The private Optuna names hybridnas uses still exist and behave (hybridnas/search/optuna_compat.py).

An Optuna upgrade that moves one fails here first, naming it."""

import numpy as np
import optuna

from hybridnas.search import optuna_compat


def test_constraints_live_under_the_key_optuna_reads():
    study = optuna.create_study(directions=["minimize", "minimize"])
    trial = study.ask()
    trial.set_constraint("macs", 0.5)  # how the search records a budget's excess
    study.tell(trial, [1.0, 2.0])
    assert study.trials[0].system_attrs == {f"{optuna_compat.CONSTRAINTS_KEY}:macs": 0.5}


def test_hypervolume_of_a_known_front_and_of_points_on_the_reference():
    points = np.array([[1.0, 2.0], [2.0, 1.0]])
    assert optuna_compat.hypervolume(points, np.array([3.0, 3.0])) == 3.0
    assert optuna_compat.hypervolume(np.array([[3.0, 3.0]]), np.array([3.0, 3.0])) == 0.0  # no volume, no error
    assert optuna_compat.hypervolume(np.array([[3.0, 1.0], [1.0, 1.0]]), np.array([3.0, 3.0])) == 4.0


def test_a_sampler_hook_can_set_a_running_trials_system_attribute():
    study = optuna.create_study()
    trial = study.ask()
    frozen = study._storage.get_trial(trial._trial_id)
    optuna_compat.set_running_trial_system_attr(study, frozen, "plan", {"x": 1})
    assert study._storage.get_trial(trial._trial_id).system_attrs["plan"] == {"x": 1}
    assert optuna_compat.study_storage(study) is study._storage
