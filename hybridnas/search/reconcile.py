"""Bringing a run's Optuna study and its journal back into agreement.

The journal (evaluations.jsonl) is the run's record; the study (study.db) is the sampler's memory.
They can disagree after a kill between the two writes, after a journal line is damaged, or when a
resume changes the budget. Each function here makes them agree again and says what it changed.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Sequence

import optuna
from optuna.study._constrained_optimization import _CONSTRAINTS_KEY
from optuna.trial import FrozenTrial, TrialState

from ..errors import HybridNASError
from ..spaces import Arch, Space
from .store import RunStore

FINISHED = (TrialState.COMPLETE, TrialState.FAIL)


def restore_lost_records(study: optuna.Study, store: RunStore, records: list[dict], space: Space,
                         cost: Callable[[Arch], dict[str, float]], objective_names: Sequence[str]) -> int:
    """Append a journal record for each finished trial whose architecture has none (a torn or damaged line).

    The study holds the trial's objective values; costs are exact and recomputed; other metrics (the members
    of an ensemble) are lost and left out. Restored records carry `"restored": "study.db"`.

    Returns:
        How many records were appended.
    """
    known = {r["id"] for r in records}
    restored = 0
    for trial in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        arch_id, text = trial.user_attrs.get("arch_id"), trial.user_attrs.get("arch")
        if arch_id is None or text is None or arch_id in known:
            continue
        metrics = cost(space.parse(text))
        if trial.user_attrs.get("feasible", True):
            named = dict(zip(objective_names, trial.values))
            record = {"status": "ok", **metrics, **named, "values": list(trial.values)}
        else:
            record = {"status": "over_budget", **metrics, "values": None}
        store.append({"trial": trial.number, "arch": text, "id": arch_id, **record, "restored": "study.db"})
        known.add(arch_id)
        restored += 1
    return restored


def rebuilt_trial(trial: FrozenTrial, violations: dict[str, float], values: list[float] | None) -> FrozenTrial:
    """A finished trial with new constraint values, feasibility and objective values (None: failed)."""
    system_attrs = {k: v for k, v in trial.system_attrs.items() if not k.startswith(f"{_CONSTRAINTS_KEY}:")}
    system_attrs.update({f"{_CONSTRAINTS_KEY}:{k}": float(v) for k, v in violations.items()})
    user_attrs = {**trial.user_attrs, "feasible": all(v <= 0 for v in violations.values())}
    state = TrialState.COMPLETE if values is not None else TrialState.FAIL
    return optuna.trial.create_trial(state=state, params=trial.params, distributions=trial.distributions,
                                     values=values, user_attrs=user_attrs, system_attrs=system_attrs)


def replace_study(store: RunStore, old: optuna.Study, study_name: str, directions: list[str],
                  trials: list[FrozenTrial]) -> None:
    """Write `trials` as a new study.db beside the old one, then swap it in with one atomic rename."""
    target = store.root / "study.db"
    staging = store.root / "study.db.rebuild"
    staging.unlink(missing_ok=True)
    fresh = optuna.create_study(study_name=study_name, storage=f"sqlite:///{staging.resolve()}", directions=directions)
    fresh.add_trials(trials)
    _close(fresh)
    _close(old)
    os.replace(staging, target)


def _close(study: optuna.Study) -> None:
    """Release a study's SQLite connections so its file can be renamed or replaced safely."""
    storage: Any = study._storage
    backend = getattr(storage, "_backend", storage)
    engine = getattr(backend, "engine", None)
    if engine is not None:
        engine.dispose()


def require_default_storage(storage: str | None, root: Path) -> None:
    """Budgets can be changed only where the study is the run folder's own SQLite file."""
    if storage:
        raise HybridNASError(f"--resume {root} --change-budget needs the run's own study.db; this run keeps its "
                             f"study in {storage}. Start a new run with the new budget instead")
