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
from optuna.trial import FrozenTrial, TrialState

from ..errors import HybridNASError
from .optuna_compat import CONSTRAINTS_KEY, study_storage
from ..evaluation import CostEvaluator
from ..spaces import Arch, Space
from .config import SearchConfig
from .objectives import Objectives, budget_violations, evaluation_record, over_budget_record
from .record import JournalRecord
from .store import RunStore

FINISHED = (TrialState.COMPLETE, TrialState.FAIL, TrialState.PRUNED)


def restore_lost_records(study: optuna.Study, store: RunStore, records: list[JournalRecord], space: Space,
                         cost: Callable[[Arch], dict[str, float]], objective_names: Sequence[str]) -> int:
    """Append a journal record for each finished trial whose architecture has none (a torn or damaged line).

    The study holds the trial's objective values; costs are exact and recomputed; other metrics (the members
    of an ensemble) are lost and left out. Restored records carry `"restored": "study.db"`.

    Returns:
        How many records were appended.
    """
    known = {r.id for r in records}
    restored = 0
    for trial in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        arch_id, text = trial.user_attrs.get("arch_id"), trial.user_attrs.get("arch")
        if arch_id is None or text is None or arch_id in known:
            continue
        metrics = cost(space.parse(text))
        if trial.user_attrs.get("feasible", True):
            named = dict(zip(objective_names, trial.values))
            record = JournalRecord(trial.number, text, arch_id, "ok", {**metrics, **named}, list(trial.values),
                                   restored="study.db")
        else:
            record = JournalRecord(trial.number, text, arch_id, "over_budget", metrics, restored="study.db")
        store.append(record)
        known.add(arch_id)
        restored += 1
    return restored


def rebuilt_trial(trial: FrozenTrial, violations: dict[str, float], values: list[float] | None) -> FrozenTrial:
    """A finished trial with new constraint values, feasibility and objective values (None: failed)."""
    system_attrs = {k: v for k, v in trial.system_attrs.items() if not k.startswith(f"{CONSTRAINTS_KEY}:")}
    system_attrs.update({f"{CONSTRAINTS_KEY}:{k}": float(v) for k, v in violations.items()})
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
    storage: Any = study_storage(study)
    backend = getattr(storage, "_backend", storage)
    engine = getattr(backend, "engine", None)
    if engine is not None:
        engine.dispose()


def require_default_storage(storage: str | None, root: Path) -> None:
    """Budgets can be changed only where the study is the run folder's own SQLite file."""
    if storage:
        raise HybridNASError(f"--resume {root} --change-budget needs the run's own study.db; this run keeps its "
                             f"study in {storage}. Start a new run with the new budget instead")


def recover_running(study: optuna.Study, cache: dict[str, JournalRecord],
                    pruned: dict[str, JournalRecord] | None = None) -> None:
    """Trials a killed run left RUNNING: complete them from the journal (pruned ones as pruned), or mark them
    failed and try their architecture once more (a trial that was itself such a retry stays failed; a
    training it had begun resumes from its checkpoint)."""
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if trial.user_attrs.get("arch_id", "") in (pruned or {}):
            study.tell(trial.number, state=TrialState.PRUNED)
            continue
        record = cache.get(trial.user_attrs.get("arch_id", ""))
        if record is not None and record.values is not None:
            study.tell(trial.number, record.values)
            continue
        study.tell(trial.number, state=TrialState.FAIL)
        if "retry_of" not in trial.user_attrs and trial.params:
            study.enqueue_trial(trial.params, user_attrs={"retry_of": trial.number})


def check_study_matches_journal(study: optuna.Study, store: RunStore, records: list[JournalRecord]) -> None:
    """A run whose journal has evaluations but whose study has no trials lost its study (deleted or replaced)."""
    if study.trials or not records:
        return
    raise HybridNASError(f"{store.root}: evaluations.jsonl holds {len(records)} evaluation(s) but the Optuna "
                         "study has no trials: study.db was deleted or replaced. Put it back to resume, or start a "
                         f"new run with another --out (its evaluations stay readable: hybridnas pareto {store.root})")


def rebudget(study: optuna.Study, store: RunStore, records: list[JournalRecord], space: Space,
             cost_eval: CostEvaluator, config: SearchConfig, objectives: Objectives, cache: dict[str, JournalRecord],
             pool: Any,
             study_name: str) -> tuple[optuna.Study, str]:
    """Re-check every finished trial against the new budget, score those that now fit and never were, and
    swap in a study whose constraints and values say so. Returns the reloaded study and a one-line note."""
    if any(r.status == "pruned" for r in records):
        raise HybridNASError(f"--resume {store.root} --change-budget: this run has trainings that successive halving "
                             "stopped, which a new budget cannot re-rank; start a new run with the new budget")
    status = {r.id: r.status for r in records}  # the last word on each architecture
    checked: list[tuple[Any, Arch | None, dict[str, float]]] = []
    todo: dict[str, tuple[int, Arch, dict[str, float]]] = {}
    for trial in study.get_trials(deepcopy=False, states=FINISHED):
        text = trial.user_attrs.get("arch")
        arch = space.parse(text) if text is not None else None
        cost = cost_eval.evaluate(arch).metrics if arch is not None else {}
        checked.append((trial, arch, cost))
        fits = arch is not None and all(v <= 0 for v in budget_violations(cost, config).values())
        if fits and trial.state == TrialState.COMPLETE and arch.id not in cache and arch.id not in todo:
            todo[arch.id] = (trial.number, arch, cost)
    newly_over = newly_scored = restored = 0
    archs = list(todo.values())
    for i, evaluation in pool.imap([a for _, a, _ in archs]):
        number, arch, cost = archs[i]
        record = evaluation_record(number, space.format(arch), arch.id, cost, evaluation, objectives)
        store.append(record)
        status[arch.id] = record.status
        if record.values is not None:
            cache[arch.id] = record
            newly_scored += 1
    rebuilt = []
    for trial, arch, cost in checked:
        if arch is None:
            rebuilt.append(trial)
            continue
        violations = budget_violations(cost, config)
        fits = all(v <= 0 for v in violations.values())
        if not fits and status.get(arch.id) != "over_budget":
            store.append(over_budget_record(trial.number, space.format(arch), arch.id, cost))
            status[arch.id] = "over_budget"
            newly_over += 1
        elif fits and arch.id in cache and status.get(arch.id) != "ok":  # scored before a tighter budget
            store.append(cache[arch.id])
            status[arch.id] = "ok"
            restored += 1
        if trial.state == TrialState.FAIL:
            values = None
        elif fits:
            values = cache[arch.id].values if arch.id in cache else None
        else:
            values = objectives.worst()
        rebuilt.append(rebuilt_trial(trial, violations, values))
    sampler = study.sampler
    replace_study(store, study, study_name, objectives.directions, rebuilt)
    study = optuna.load_study(study_name=study_name, storage=store.storage_url, sampler=sampler)
    return study, (f"budget changed: re-checked {len(rebuilt)} trial(s); {newly_over} architecture(s) now over "
                   f"budget, {newly_scored + restored} now within it ({newly_scored} scored now)")
