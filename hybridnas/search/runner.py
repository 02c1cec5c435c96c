"""The search loop: Optuna ask -> Space.suggest -> budget check -> evaluate on workers -> journal -> tell.

Budgets are enforced before evaluation: an architecture over budget is never built or scored; it is
told to Optuna as infeasible (trial constraints, worst objective values). Canonical duplicates are
evaluated once (a cache keyed by arch.id, rebuilt from the journal on resume). A run killed at any
moment resumes with `resume=True`; trials left running are completed from the journal or failed.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd
from optuna.trial import TrialState

from ..errors import HybridNASError
from ..evaluation import METRIC_SOURCES, CostEvaluator, metric_source
from ..io import atomic_write_csv
from ..proxies.engine import expand, format_errors
from ..proxies.ensemble import Ensemble, parse_ensemble
from ..spaces import Arch, Space, load_space
from .config import SearchConfig
from .reconcile import FINISHED, rebuilt_trial, replace_study, require_default_storage, restore_lost_records
from .store import RunStore, check_resume_config
from .strategies import STRATEGIES, enqueue_all, make_strategy_sampler
from .workers import LocalPool, RayPool, init_ray

STUDY_NAME = "hybridnas"


@dataclass
class SearchResult:
    run: Path
    evaluated: int
    feasible: int
    seconds: float
    notes: tuple[str, ...] = ()  # what a resume repaired or re-checked, one sentence each


def budget_violations(cost: dict[str, float], config: SearchConfig) -> dict[str, float]:
    """Relative excess over each budget (<= 0 when within it)."""
    out = {}
    budget = config.budget
    for metric, limit in (("macs", budget.max_macs), ("params", budget.max_params),
                          ("latency_ms", budget.max_latency_ms)):
        if limit is not None:
            out[metric] = (cost[metric] - limit) / limit
    return out


class _Objectives:
    """Turns an evaluation into the objective vector; ensembles are normalised on a reference sample."""

    def __init__(self, config: SearchConfig, ensembles: dict[str, Ensemble]) -> None:
        self.objectives = config.objectives
        self.ensembles = ensembles
        self.directions = ["maximize" if o.direction == "max" else "minimize" for o in self.objectives]

    def values(self, metrics: dict[str, float]) -> tuple[list[float] | None, str]:
        out = []
        for obj in self.objectives:
            if obj.name in self.ensembles:
                members = self.ensembles[obj.name].members
                missing = [m for m in members if m not in metrics]
                if missing:
                    return None, f"ensemble member(s) failed: {', '.join(missing)}"
                value = float(self.ensembles[obj.name].score(pd.DataFrame([metrics]))[0])
            elif obj.name in metrics:
                value = float(metrics[obj.name])
            else:
                return None, f"objective {obj.name} failed"
            if not math.isfinite(value):
                return None, f"objective {obj.name} is {value}"
            out.append(value)
        return out, ""

    def worst(self) -> list[float]:
        return [-math.inf if d == "maximize" else math.inf for d in self.directions]


def _latency_table(space: Space, config: SearchConfig):
    """The budget's latency table, checked to cover every layer of the space (so no trial fails on it)."""
    from ..latency import LatencyError, LatencyTable, space_signatures

    path = config.budget.latency_table
    wants = config.budget.max_latency_ms is not None or any(o.name == "latency_ms" for o in config.objectives)
    if path is None:
        if wants:
            raise HybridNASError("a latency budget or objective needs a latency table: set budget.latency_table "
                                 "(or --latency-table TABLE); build one with `hybridnas latency build`")
        return None
    table = LatencyTable.load(path)
    missing = [s for s in space_signatures(space) if s not in table.entries]
    if missing:
        raise LatencyError(f"latency table {path} lacks {len(missing)} layer(s) of space {space.name!r}, e.g. "
                           f"{missing[0].describe()}; extend it: hybridnas latency build {space.source} --out {path} "
                           f"--device {table.conditions.device}")
    return table


def _evaluator_factory(space: Space, config: SearchConfig, proxies: list[str], others: dict[str, list[str]]):
    """The evaluators a worker builds: the proxy source's (for `proxies`, ensemble members included), then one per
    other registered metric source the objectives use (e.g. the supernet's)."""

    def factory():
        evaluators = [METRIC_SOURCES.get("proxy").make(space, config, proxies)] if proxies else []
        evaluators += [METRIC_SOURCES.get(name).make(space, config, metrics) for name, metrics in others.items()]
        return evaluators

    return factory


def _reference(store: RunStore, space: Space, config: SearchConfig, pool, proxies: list[str],
               names: list[str]) -> dict[str, Ensemble]:
    """Ensembles fitted on `reference_size` seeded random archs, scored once and kept in the run folder."""
    if not names:
        return {}
    path = store.root / "reference.csv"
    if path.is_file():
        frame = pd.read_csv(path)
    else:
        rng = np.random.default_rng(config.seed + 7919)
        archs = [space.sample(rng) for _ in range(config.reference_size)]
        rows = [dict(evaluation.metrics) for _, evaluation in sorted(pool.imap(archs), key=lambda r: r[0])]
        frame = pd.DataFrame(rows)
        atomic_write_csv(frame, path)
    ensembles = {}
    for name in names:
        ensemble = parse_ensemble(name)
        if not all(m in frame for m in ensemble.members):
            raise HybridNASError(f"reference scores in {path} lack members of {name}; delete the file to rescore")
        ensembles[name] = ensemble.fit_reference(frame)
    return ensembles


def _recover(study: optuna.Study, cache: dict[str, dict], objectives: _Objectives) -> None:
    """Trials a killed run left RUNNING: complete them from the journal, or mark them failed and try their
    architecture once more (a trial that was itself such a retry stays failed)."""
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        record = cache.get(trial.user_attrs.get("arch_id", ""))
        if record is not None and record.get("values") is not None:
            study.tell(trial.number, record["values"])
            continue
        study.tell(trial.number, state=TrialState.FAIL)
        if "retry_of" not in trial.user_attrs and trial.params:
            study.enqueue_trial(trial.params, user_attrs={"retry_of": trial.number})


def _check_study_matches_journal(study: optuna.Study, store: RunStore, records: list[dict]) -> None:
    """A run whose journal has evaluations but whose study has no trials lost its study (deleted or replaced)."""
    if study.trials or not records:
        return
    raise HybridNASError(f"{store.root}: evaluations.jsonl holds {len(records)} evaluation(s) but the Optuna "
                         "study has no trials: study.db was deleted or replaced. Put it back to resume, or start a "
                         f"new run with another --out (its evaluations stay readable: hybridnas pareto {store.root})")


def run_search(config: SearchConfig, out: str | Path, *, resume: bool = False, progress: bool = True,
               change_budget: bool = False) -> SearchResult:
    """Run (or resume) a search; every evaluation is journaled in `out` as soon as it finishes.

    Args:
        resume: continue the run in `out`; only `trials` (more), `workers` and the Ray address may change.
        change_budget: with `resume`, also accept a new budget and re-check every recorded architecture
            against it (now over budget: infeasible; now within it and never scored: scored now).
    """
    start = time.perf_counter()
    store = RunStore(out)
    if store.exists() and not resume:
        raise HybridNASError(f"{out} already holds a run; pass --resume to continue it, or choose another --out")
    if resume and not store.exists():
        raise HybridNASError(f"{out} holds no run to resume (no config.yaml)")
    with store.lock():
        return _run_search(config, out, store, resume, progress, start, change_budget)


def _run_search(config: SearchConfig, out: str | Path, store: RunStore, resume: bool, progress: bool,
                start: float, change_budget: bool) -> SearchResult:
    """run_search's body, under the run's writer lock."""
    rebudget = False
    if resume:
        stored = store.read_config()
        check_resume_config(stored, config.model_dump(mode="json"), store.root, change_budget)
        rebudget = stored.get("budget") != config.model_dump(mode="json")["budget"]
        if rebudget:
            require_default_storage(config.storage, store.root)
    space = load_space(config.space)
    latency_table = _latency_table(space, config)
    if STRATEGIES.get(config.strategy).enumerates and space.size() is None:
        others = [n for n in STRATEGIES.list() if not STRATEGIES.get(n).enumerates]
        raise HybridNASError(f"strategy {config.strategy!r} needs a space that can be enumerated; {space.name!r} "
                             f"cannot. Use {', '.join(others)}")
    sources = {o.name: metric_source(o.name) for o in config.objectives}
    proxies, ensemble_names = expand([n for n, s in sources.items() if s.name == "proxy"])
    others: dict[str, list[str]] = {}
    for name, source in sources.items():
        if source.name not in ("cost", "proxy"):
            others.setdefault(source.name, []).append(name)
            if source.check is not None:
                source.check(config)
    store.root.mkdir(parents=True, exist_ok=True)
    store.write_config(config.model_dump(mode="json"))

    started_ray = False
    factory = _evaluator_factory(space, config, proxies, others)
    if config.workers == 0 or not (others or (proxies and not config.scores_table)):
        pool = LocalPool(space, factory)
    else:
        started_ray = init_ray(config.workers, config.ray_address, config.ray_dashboard)
        pool = RayPool(space, factory, config.workers)
    try:
        ensembles = _reference(store, space, config, pool, proxies, ensemble_names)
        objectives = _Objectives(config, ensembles)
        sampler = make_strategy_sampler(config.strategy, space, config.seed, len(config.objectives),
                               population_size=config.population_size, tournament_size=config.tournament_size)
        storage = None if config.storage == "memory" else (config.storage or store.storage_url)
        study = optuna.create_study(study_name=STUDY_NAME, storage=storage,
                                    directions=objectives.directions, sampler=sampler, load_if_exists=True)
        records = store.records()
        notes = [store.damaged_note()] if store.damaged_note() else []
        cost_eval = CostEvaluator(space, latency_table)
        if resume and config.storage != "memory":
            _check_study_matches_journal(study, store, records)
            restored = restore_lost_records(study, store, records, space, lambda a: cost_eval.evaluate(a).metrics,
                                            [o.name for o in config.objectives])
            if restored:
                records = store.records()
                notes.append(f"restored {restored} journal record(s) from study.db (costs recomputed; objective "
                             "values from the study; other metrics lost)")
        if study.trials:  # a resumed run: continue the random stream instead of replaying its first draws
            study.sampler = make_strategy_sampler(config.strategy, space, resumed_seed(config.seed, len(study.trials)),
                                         len(config.objectives), population_size=config.population_size,
                                         tournament_size=config.tournament_size)
        cache = {r["id"]: r for r in records if r.get("status") == "ok"}
        _recover(study, cache, objectives)
        if rebudget:
            study, note = _rebudget(study, store, records, space, cost_eval, config, objectives, cache, pool)
            notes.append(note)
        done = lambda: len(study.get_trials(deepcopy=False, states=FINISHED))  # noqa: E731
        if STRATEGIES.get(config.strategy).enumerates:
            enqueue_all(study, space, max(0, config.trials - done()))
        bar = _progress(progress, config.trials, done())
        feasible = len(cache)
        while done() < config.trials:
            waiting: dict[str, list] = {}
            todo: list[Arch] = []
            for _ in range(min(config.batch_size, config.trials - done())):
                trial = study.ask()
                arch = space.suggest(trial)
                cost = cost_eval.evaluate(arch).metrics
                trial.set_user_attr("arch", space.format(arch))
                trial.set_user_attr("arch_id", arch.id)
                violations = budget_violations(cost, config)
                for key, value in violations.items():
                    trial.set_constraint(key, value)
                ok = all(v <= 0 for v in violations.values())
                trial.set_user_attr("feasible", ok)
                if not ok:
                    store.append({"trial": trial.number, "arch": space.format(arch), "id": arch.id,
                                  "status": "over_budget", **cost, "values": None})
                    study.tell(trial, objectives.worst())
                    bar.update(1)
                elif arch.id in cache:
                    study.tell(trial, cache[arch.id]["values"])
                    bar.update(1)
                else:
                    if arch.id not in waiting:
                        todo.append(arch)
                    waiting.setdefault(arch.id, []).append((trial, cost))
            for i, evaluation in pool.imap(todo):
                arch = todo[i]
                record = _evaluation_record(waiting[arch.id][0][0].number, space.format(arch), arch.id,
                                            waiting[arch.id][0][1], evaluation, objectives)
                values = record["values"]
                store.append(record)
                for trial, _ in waiting[arch.id]:
                    if values is None:
                        trial.set_user_attr("error", record["errors"])
                        study.tell(trial, state=TrialState.FAIL)
                    else:
                        study.tell(trial, values)
                    bar.update(1)
                if values is not None:
                    cache[arch.id] = record
                    feasible += 1
                    bar.set_postfix(feasible=feasible, best=_best(cache, config), refresh=False)
        bar.close()
        return SearchResult(Path(out), len(cache), feasible, time.perf_counter() - start, tuple(notes))
    finally:
        pool.close()
        if started_ray:
            import ray

            ray.shutdown()


def _evaluation_record(trial: int, text: str, arch_id: str, cost: dict[str, float], evaluation,
                       objectives: _Objectives) -> dict[str, Any]:
    """The journal record of one scored architecture (status ok, or failed with the reason)."""
    metrics = {**cost, **evaluation.metrics}
    values, reason = objectives.values(metrics)
    named = {o.name: v for o, v in zip(objectives.objectives, values or [])}
    return {"trial": trial, "arch": text, "id": arch_id, "status": "ok" if values else "failed", **metrics, **named,
            "values": values, "errors": format_errors(evaluation.errors) or reason, "seconds": evaluation.seconds}


def _rebudget(study: optuna.Study, store: RunStore, records: list[dict], space: Space, cost_eval: CostEvaluator,
              config: SearchConfig, objectives: _Objectives, cache: dict[str, dict],
              pool) -> tuple[optuna.Study, str]:
    """Re-check every finished trial against the new budget, score those that now fit and never were, and
    swap in a study whose constraints and values say so. Returns the reloaded study and a one-line note."""
    status = {r["id"]: r["status"] for r in records}  # the last word on each architecture
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
        record = _evaluation_record(number, space.format(arch), arch.id, cost, evaluation, objectives)
        store.append(record)
        status[arch.id] = record["status"]
        if record["values"] is not None:
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
            store.append({"trial": trial.number, "arch": space.format(arch), "id": arch.id, "status": "over_budget",
                          **cost, "values": None})
            status[arch.id] = "over_budget"
            newly_over += 1
        elif fits and arch.id in cache and status.get(arch.id) != "ok":  # scored before a tighter budget
            store.append(cache[arch.id])
            status[arch.id] = "ok"
            restored += 1
        if trial.state == TrialState.FAIL:
            values = None
        elif fits:
            values = cache[arch.id]["values"] if arch.id in cache else None
        else:
            values = objectives.worst()
        rebuilt.append(rebuilt_trial(trial, violations, values))
    sampler = study.sampler
    replace_study(store, study, STUDY_NAME, objectives.directions, rebuilt)
    study = optuna.load_study(study_name=STUDY_NAME, storage=store.storage_url, sampler=sampler)
    return study, (f"budget changed: re-checked {len(rebuilt)} trial(s); {newly_over} architecture(s) now over "
                   f"budget, {newly_scored + restored} now within it ({newly_scored} scored now)")


def resumed_seed(seed: int, trials_so_far: int) -> int:
    """The sampler seed after `trials_so_far` trials: a fresh stream, the same for the same run and point."""
    import hashlib

    return int(hashlib.sha1(f"{seed}:{trials_so_far}".encode()).hexdigest()[:8], 16)


def _best(cache: dict[str, dict], config: SearchConfig) -> str:
    first = config.objectives[0]
    values = [r["values"][0] for r in cache.values() if r.get("values")]
    if not values:
        return "-"
    return f"{(max if first.direction == 'max' else min)(values):.4g}"


def _progress(enabled: bool, total: int, initial: int) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, desc="search", unit="trial", disable=not enabled)
