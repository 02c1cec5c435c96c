"""The search loop: Optuna ask -> Space.suggest -> budget check -> evaluate on workers -> journal -> tell.

Budgets are enforced before evaluation: an architecture over budget is never built or scored; it is
told to Optuna as infeasible (trial constraints, worst objective values). Canonical duplicates are
evaluated once (a cache keyed by arch.id, rebuilt from the journal on resume). A run killed at any
moment resumes with `resume=True`; trials left running are completed from the journal or failed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from optuna.trial import TrialState

from ..errors import HybridNASError
from ..evaluation import CostEvaluator, Evaluation, make_pruner, metric_source, source_named, split_members
from ..spaces import Arch, Space, load_space
from .config import SearchConfig
from .objectives import Objectives, budget_violations, evaluation_record, over_budget_record
from .record import JournalRecord
from .reference import feasible_sample, reference_ensembles
from .reconcile import (FINISHED, check_study_matches_journal, rebudget, recover_running, require_default_storage,
                        restore_lost_records)
from .screen import enqueue_screened, screen_candidates
from .store import RunStore, check_resume_config
from .storage import create_study, open_storage, refuse_shared_storage
from .strategies import STRATEGIES, enqueue_all, make_strategy_sampler
from .workers import LocalPool, RayPool, init_ray
from ..latency import LatencyError, LatencyTable, load_latency, space_signatures
from ..timing import PhaseClock



@dataclass
class SearchResult:
    """What a finished (or resumed) search run did: its folder, trial counts, time and resume notes."""

    run: Path
    evaluated: int
    feasible: int
    seconds: float
    notes: tuple[str, ...] = ()  # what a resume repaired or re-checked, one sentence each
    time: str = ""  # where the time went, one line ('time: 51.2 s (reference sample 9.1 s, ...)')


def _latency_table(space: Space, config: SearchConfig):
    """The budget's latency table, checked to cover every layer of the space (so no trial fails on it)."""
    path = config.budget.latency_table
    wants = config.budget.max_latency_ms is not None or any(o.name == "latency_ms" for o in config.objectives)
    if path is None:
        if wants:
            raise HybridNASError("a latency budget or objective needs a latency table: set budget.latency_table "
                                 "(or --latency-table TABLE); build one with `hybridnas latency build`")
        return None
    table = load_latency(path)
    if not isinstance(table, LatencyTable):
        return table  # a fitted network model covers every network of its space
    missing = [s for s in space_signatures(space) if s not in table.entries]
    if missing:
        raise LatencyError(f"latency table {path} lacks {len(missing)} layer(s) of space {space.name!r}, e.g. "
                           f"{missing[0].describe()}; extend it: hybridnas latency build {space.source} --out {path} "
                           f"--device {table.conditions.device}")
    return table


# strategies whose first trials are uniform random: how many of them are drawn within the budget instead
WARM_STARTED = {"nsga2": lambda config: config.population_size, "tpe": lambda config: 10}


def _evaluator_factory(space: Space, config: SearchConfig, proxies: list[str], others: dict[str, list[str]]):
    """The evaluators a worker builds: the proxy source's (for `proxies`, ensemble members included), then one per
    other registered metric source the objectives use (e.g. the supernet's), each from its own settings model."""
    wanted = ({"proxy": proxies} if proxies else {}) | others
    made = [(source, source.settings_for(config), metrics)
            for source, metrics in ((source_named(name), metrics) for name, metrics in wanted.items())]

    def factory():
        return [source.make(space, settings, metrics) for source, settings, metrics in made]

    return factory


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
        search = _Search(config, store, resume, change_budget)
        try:
            search.open(progress)
            feasible = search.run(progress)
        except optuna.exceptions.StorageInternalError as exc:  # a full disk or a lost database under the study
            raise HybridNASError(f"{out}: the Optuna study could not be written ({str(exc).splitlines()[0][:160]}); "
                                 "every finished evaluation is in evaluations.jsonl. Free disk space, then "
                                 f"hybridnas search --resume {out}") from None
        finally:
            search.close()
    return SearchResult(Path(out), len(search.cache), feasible, time.perf_counter() - start, tuple(search.notes),
                        search.clock.summary())


class _Search:
    """One search over a run folder, in Optuna's steps: open the run, then ask a batch, evaluate it, tell.

    `__init__` checks everything and writes nothing; `open` writes the config, starts the workers and
    brings the study back in line with the journal; `run` loops ask -> evaluate -> tell; `close` stops
    the workers.
    """

    def __init__(self, config: SearchConfig, store: RunStore, resume: bool, change_budget: bool) -> None:
        self.config, self.store, self.resume = config, store, resume
        self.rebudget = False
        if resume:
            stored = store.read_config()
            wanted = config.model_dump(mode="json")
            check_resume_config(stored, wanted, store.root, change_budget)
            store.check_space_unchanged(load_space(config.space).source)
            self.rebudget = stored.get("budget") != wanted["budget"]
            if self.rebudget:
                require_default_storage(config.storage, store.root)
        self.space = load_space(config.space)
        self.cost_eval = CostEvaluator(self.space, _latency_table(self.space, config))
        strategy = STRATEGIES.get(config.strategy)
        if strategy.enumerates and self.space.size() is None:
            others = [n for n in STRATEGIES.list() if not STRATEGIES.get(n).enumerates]
            raise HybridNASError(f"strategy {config.strategy!r} needs a space that can be enumerated; "
                                 f"{self.space.name!r} cannot. Use {', '.join(others)}")
        sources = {o.name: metric_source(o.name) for o in config.objectives}
        self.proxies, self.ensemble_names = split_members([n for n, s in sources.items() if s.name == "proxy"])
        if config.screen is not None:  # the screen's proxies are scored with every network (predictor features)
            screen_proxies, _ = split_members([config.screen.objective])
            self.proxies = list(dict.fromkeys([*self.proxies, *screen_proxies]))
        if config.fidelity is not None and config.fidelity.kind == "train" and config.fidelity.work_dir is None:
            fidelity = config.fidelity.model_copy(update={"work_dir": str(store.root / "fidelity")})
            self.evaluator_config = config.model_copy(update={"fidelity": fidelity})
        else:
            self.evaluator_config = config
        self.rungs = config.fidelity.rungs() if self._rung_mode() else []
        self.others: dict[str, list[str]] = {}
        for name, source in sources.items():
            if source.name not in ("cost", "proxy"):
                self.others.setdefault(source.name, []).append(name)
        for source_name, metrics in self.others.items():
            source = source_named(source_name)
            if source.check is not None:
                source.check(source.settings_for(config), metrics)
        self.pool: Any = None
        self.started_ray = False
        self.notes: list[str] = []
        self.clock = PhaseClock()

    # ---- open ----------------------------------------------------------------------------------------
    def open(self, progress: bool = False) -> None:
        """Write the config, start the evaluators, fit ensembles, and load (or create) the study."""
        config, store, space = self.config, self.store, self.space
        factory = _evaluator_factory(space, self.evaluator_config, self.proxies, self.others)
        used = (["proxy"] if self.proxies else []) + list(self.others)
        # the workers start first: one that cannot (no such GPU, shares that do not fit) leaves no run behind
        with self.clock.phase("workers start"):
            if config.workers == 0 or all(source_named(name).runs_in_process(config) for name in used):
                self.pool = LocalPool(space, factory)
            else:
                self.started_ray = init_ray(config.workers, config.ray_address, config.ray_dashboard)
                self.pool = RayPool(space, factory, config.workers, gpus_per_worker=config.gpus_per_worker)
        store.root.mkdir(parents=True, exist_ok=True)
        store.write_config(config.model_dump(mode="json"))
        cost_of = lambda arch: self.cost_eval.evaluate(arch).metrics  # noqa: E731
        if not self.resume:  # a budget nothing fits is refused before anything is scored
            feasible_sample(space, np.random.default_rng(config.seed), 1, self._feasible, cost_of)
        with self.clock.phase("reference sample"):
            reference = reference_ensembles(store, space, config, self.pool, self.proxies, self.ensemble_names,
                                            self._feasible, cost_of, progress)
            self.objectives = Objectives(config, reference)
        with self.clock.phase("screen"):
            self.screened = (screen_candidates(store, space, config, self.pool, self._feasible, progress)
                             if config.screen else None)
        storage = None if config.storage == "memory" else open_storage(config.storage or store.storage_url)
        if not self.resume:
            if config.storage not in (None, "memory"):
                refuse_shared_storage(storage, config.storage)
            store.create_identity(space.source)
        self.study_name = store.study_name
        self.study = create_study(self.study_name, storage, self.objectives.directions, self._sampler(config.seed),
                                  make_pruner(config.fidelity))
        self._reconcile()
        if STRATEGIES.get(config.strategy).enumerates:
            enqueue_all(self.study, space, max(0, config.trials - self.done()))
        self.trials = config.trials
        if not self.study.trials and config.strategy in WARM_STARTED:
            self._enqueue_feasible_start(WARM_STARTED[config.strategy](config))
        if config.strategy == "screened":  # it trains the kept networks and nothing else
            kept = int(self.screened["kept"].sum())
            self.trials = min(config.trials, kept)
            if not self.study.trials:
                enqueue_screened(self.study, space, self.screened, self.trials)

    def _sampler(self, seed: int) -> Any:
        c = self.config
        kept = None if getattr(self, "screened", None) is None else self.screened[self.screened["kept"]]
        return make_strategy_sampler(c.strategy, self.space, seed, len(c.objectives),
                                     population_size=c.population_size, tournament_size=c.tournament_size,
                                     predictor=c.predictor, screened=kept, feasible=self._feasible,
                                     features=tuple(self.proxies) if kept is not None else ())

    def _enqueue_feasible_start(self, count: int) -> None:
        """The strategy's random start (NSGA-II's first generation, TPE's start-up trials) drawn within the
        budget, so a tight budget (a latency table's, say) does not spend it on networks over budget."""
        rng = np.random.default_rng(self.config.seed + 104729)
        cost_of = lambda arch: self.cost_eval.evaluate(arch).metrics  # noqa: E731
        for arch in feasible_sample(self.space, rng, min(count, self.config.trials), self._feasible, cost_of):
            self.study.enqueue_trial(self.space.to_params(arch), skip_if_exists=True)

    def _feasible(self, arch: Arch) -> bool:
        """Whether `arch` is within the search's budget (cheap: cost or table latency)."""
        cost = self.cost_eval.evaluate(arch).metrics
        within = all(v <= 0 for v in budget_violations(cost, self.config).values())
        return within and self.space.within_constraints(arch)

    def _rung_mode(self) -> bool:
        """Whether trainings go rung by rung with Optuna's pruner deciding who continues."""
        f = self.config.fidelity
        return f is not None and f.kind == "train" and f.pruner != "none"

    def _reconcile(self) -> None:
        """Bring the study in line with the journal: lost records, running trials, a changed budget."""
        config, store, study = self.config, self.store, self.study
        records = store.records()
        damaged = store.damaged_note()
        if damaged:
            self.notes.append(damaged)
        if self.resume and config.storage != "memory":
            check_study_matches_journal(study, store, records)
            restored = restore_lost_records(study, store, records, self.space,
                                            lambda a: self.cost_eval.evaluate(a).metrics,
                                            [o.name for o in config.objectives])
            if restored:
                records = store.records()
                self.notes.append(f"restored {restored} journal record(s) from study.db (costs recomputed; "
                                  "objective values from the study; other metrics lost)")
        if study.trials:  # a resumed run: continue the random stream instead of replaying its first draws
            study.sampler = self._sampler(resumed_seed(config.seed, len(study.trials)))
        self.cache: dict[str, JournalRecord] = {r.id: r for r in records if r.status == "ok"}
        self.pruned: dict[str, JournalRecord] = {r.id: r for r in records if r.status == "pruned"}
        self.epochs_spent = sum(r.epochs for r in records)
        recover_running(study, self.cache, self.pruned)
        if self.rebudget:
            self.study, note = rebudget(study, store, records, self.space, self.cost_eval, config, self.objectives,
                                        self.cache, self.pool, self.study_name)
            self.notes.append(note)

    # ---- the loop ------------------------------------------------------------------------------------
    def done(self) -> int:
        return len(self.study.get_trials(deepcopy=False, states=FINISHED))

    def ask(self, bar: Any) -> tuple[list[Arch], dict[str, list]]:
        """Ask a batch of trials. Over-budget and already-scored architectures are told at once; the rest come
        back as distinct architectures to evaluate, each with the trials (and costs) waiting for it."""
        config, space, study, store = self.config, self.space, self.study, self.store
        waiting: dict[str, list] = {}
        todo: list[Arch] = []
        for _ in range(min(config.batch_size, self.trials - self.done())):
            trial = study.ask()
            arch = space.suggest(trial)
            cost = self.cost_eval.evaluate(arch).metrics
            trial.set_user_attr("arch", space.format(arch))
            trial.set_user_attr("arch_id", arch.id)
            violations = budget_violations(cost, config)
            if not space.within_constraints(arch):  # the space's own cost window: what sample/parse refuse
                violations["space_window"] = 1.0
            for key, value in violations.items():
                trial.set_constraint(key, value)
            ok = all(v <= 0 for v in violations.values())
            trial.set_user_attr("feasible", ok)
            if not ok:
                store.append(over_budget_record(trial.number, space.format(arch), arch.id, cost))
                study.tell(trial, self.objectives.worst())
                bar.update(1)
            elif arch.id in self.cache:
                study.tell(trial, self.cache[arch.id].values)
                bar.update(1)
            elif arch.id in self.pruned:  # stopped by successive halving before: not trained again
                study.tell(trial, state=TrialState.PRUNED)
                bar.update(1)
            else:
                if arch.id not in waiting:
                    todo.append(arch)
                waiting.setdefault(arch.id, []).append((trial, cost))
        return todo, waiting

    def tell(self, arch: Arch, evaluation: Evaluation, waiting: list, bar: Any) -> bool:
        """Journal one evaluation, then tell every trial that waited for it; True when it scored."""
        first_trial, cost = waiting[0]
        record = evaluation_record(first_trial.number, self.space.format(arch), arch.id, cost, evaluation,
                                   self.objectives)
        self.store.append(record)  # journal first: a kill between the two leaves a trial that resume completes
        self.epochs_spent += record.epochs
        values = record.values
        for trial, _ in waiting:
            if values is None:
                trial.set_user_attr("error", record.errors)
                self.study.tell(trial, state=TrialState.FAIL)
            else:
                self.study.tell(trial, values)
            bar.update(1)
        if values is not None:
            self.cache[arch.id] = record
        return values is not None

    def run(self, progress: bool) -> int:
        """Ask, evaluate and tell until the run has `trials` finished trials; returns how many networks scored."""
        bar = _progress(progress, self.trials, self.done())
        feasible = len(self.cache)
        clock = self.clock
        while self.done() < self.trials and not self.out_of_epochs():
            with clock.phase("ask and tell"):
                todo, waiting = self.ask(bar)
            for arch, evaluation in clock.timed("evaluation", self._evaluate(todo, waiting, bar)):
                with clock.phase("ask and tell"):
                    if self.tell(arch, evaluation, waiting[arch.id], bar):
                        feasible += 1
                        bar.set_postfix(feasible=feasible, best=_best(self.cache, self.config), refresh=False)
        bar.close()
        return feasible

    def out_of_epochs(self) -> bool:
        """Whether the trainings have spent the search's `epoch_budget`."""
        return self.config.epoch_budget is not None and self.epochs_spent >= self.config.epoch_budget

    def _evaluate(self, todo: list[Arch], waiting: dict[str, list], bar: Any):
        """(arch, evaluation) as each finishes; with rungs, a training is stopped where Optuna's pruner says.

        Rung by rung, every network still running trains (or resumes) to the rung's epochs; each epoch's
        validation accuracy is reported to its trials, and a network the pruner stops is journaled as
        pruned (with its fidelity) and told PRUNED here; the rest go on to the next rung.
        """
        if not self.rungs:
            for i, evaluation in self.pool.imap(todo):
                yield todo[i], evaluation
            return
        alive, reported = list(todo), {arch.id: 0 for arch in todo}
        for rung in self.rungs:
            going_on = []
            for i, evaluation in self.pool.imap(alive, epochs=rung):
                arch = alive[i]
                trials = [trial for trial, _ in waiting[arch.id]]
                curve = evaluation.fidelity.get("curve", [])
                for epoch, value in enumerate(curve[reported[arch.id]:], reported[arch.id] + 1):
                    if value == value:  # NaN: an epoch a resumed checkpoint did not score
                        for trial in trials:
                            trial.report(value, epoch)
                reported[arch.id] = len(curve)
                if rung == self.rungs[-1] or evaluation.errors or not trials[0].should_prune():
                    if rung == self.rungs[-1] or evaluation.errors:
                        yield arch, evaluation
                    else:
                        going_on.append(arch)
                    continue
                self._tell_pruned(arch, evaluation, waiting[arch.id], bar)
            alive = going_on

    def _tell_pruned(self, arch: Arch, evaluation: Evaluation, waiting: list, bar: Any) -> None:
        """Journal a training the pruner stopped (its accuracy so far and fidelity), then tell its trials."""
        first_trial, cost = waiting[0]
        record = evaluation_record(first_trial.number, self.space.format(arch), arch.id, cost, evaluation,
                                   self.objectives)
        record = record.with_status("pruned")
        self.store.append(record)
        self.epochs_spent += record.epochs
        self.pruned[arch.id] = record
        for trial, _ in waiting:
            self.study.tell(trial, state=TrialState.PRUNED)
            bar.update(1)
        self.pool.discard(arch)  # after the journal and the study: a stop in between leaves a file, never a gap

    def close(self) -> None:
        if self.pool is not None:
            self.pool.close()
        if self.started_ray:
            import ray

            ray.shutdown()


def resumed_seed(seed: int, trials_so_far: int) -> int:
    """The sampler seed after `trials_so_far` trials: a fresh stream, the same for the same run and point."""
    import hashlib

    return int(hashlib.sha1(f"{seed}:{trials_so_far}".encode()).hexdigest()[:8], 16)


def _best(cache: dict[str, JournalRecord], config: SearchConfig) -> str:
    first = config.objectives[0]
    values = [r.values[0] for r in cache.values() if r.values]
    if not values:
        return "-"
    return f"{(max if first.direction == 'max' else min)(values):.4g}"


def _progress(enabled: bool, total: int, initial: int) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, desc="search", unit="trial", disable=not enabled)
