"""Searches from the Python API: every strategy, budgets, duplicates, resume after SIGKILL, Pareto queries."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pandas as pd
import pytest

from hybridnas import HybridNASError
from hybridnas.search import JournalRecord, RunStore, load_search_config, run_search
from hybridnas.search.pareto import hypervolume, non_dominated, pareto_front, query
from hybridnas.search.config import Objective

BASE = {"space": "nasbench_macro", "objectives": "synflow:max,macs:min", "budget": {"max_macs": "60M"},
        "trials": 24, "batch_size": 4, "workers": 0, "population_size": 6, "tournament_size": 3,
        "proxy_batch_size": 4}


def config(**changes):
    return load_search_config({**BASE, **changes})


@pytest.mark.parametrize("strategy", ["nsga2", "tpe", "random", "evolution", "exhaustive"])
def test_every_strategy_respects_the_budget_and_never_builds_over_budget(strategy, tmp_path, monkeypatch):
    from hybridnas.spaces.base import Space

    built = []
    original = Space.build

    def spy(self, arch):
        built.append(self.cost(arch).macs)
        return original(self, arch)

    monkeypatch.setattr(Space, "build", spy)
    result = run_search(config(strategy=strategy), tmp_path / "run", progress=False)
    table = RunStore(tmp_path / "run").table()
    assert built and max(built) <= 60e6
    assert (table.loc[table.status == "ok", "macs"] <= 60e6).all()
    assert (table.loc[table.status == "over_budget", "synflow"].isna()).all() if "synflow" in table else True
    assert result.evaluated == (table.status == "ok").sum() == table.loc[table.status == "ok", "id"].nunique()
    import optuna

    study = optuna.load_study(study_name=RunStore(tmp_path / "run").study_name, storage=RunStore(tmp_path / "run").storage_url)
    assert len(study.trials) == 24
    if strategy == "evolution":
        assert any("evolution:plan" in t.system_attrs for t in study.trials)


def test_canonical_duplicates_are_evaluated_once(tmp_path):
    run_search(config(strategy="random", trials=60, budget={}), tmp_path / "run", progress=False)
    table = RunStore(tmp_path / "run").table()
    import optuna

    study = optuna.load_study(study_name=RunStore(tmp_path / "run").study_name, storage=RunStore(tmp_path / "run").storage_url)
    ids = [t.user_attrs["arch_id"] for t in study.trials]
    assert len(set(ids)) < len(ids)  # the random sampler proposed some network twice...
    assert table["id"].is_unique  # ...but each was evaluated once


def test_exhaustive_covers_a_small_space(tmp_path):
    from hybridnas import load_space

    space = load_space("nasbench_macro")
    run_search(config(strategy="exhaustive", trials=30, budget={}), tmp_path / "run", progress=False)
    table = RunStore(tmp_path / "run").table()
    assert table["id"].nunique() == 30
    assert set(table["id"]) <= {a.id for a in space.enumerate()}


def test_existing_run_needs_resume(tmp_path):
    run_search(config(trials=4), tmp_path / "run", progress=False)
    with pytest.raises(HybridNASError, match="already holds a run; pass --resume"):
        run_search(config(trials=4), tmp_path / "run", progress=False)
    run_search(config(trials=8), tmp_path / "run", resume=True, progress=False)
    import optuna

    assert len(optuna.load_study(study_name=RunStore(tmp_path / "run").study_name, storage=RunStore(tmp_path / "run").storage_url).trials) == 8


def test_resume_after_sigkill_loses_no_completed_evaluation(tmp_path):
    run = tmp_path / "run"
    cfg = {**BASE, "objectives": "naswot:max,macs:min", "trials": 40, "batch_size": 8, "budget": {},
           "proxy_batch_size": 16}
    script = textwrap.dedent(f"""
        from hybridnas.search import load_search_config, run_search
        run_search(load_search_config({cfg!r}), {str(run)!r}, progress=False)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script])
    journal = run / "evaluations.jsonl"
    deadline = time.time() + 120
    while time.time() < deadline and (not journal.exists() or journal.read_text().count("\n") < 5):
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before = [json.loads(line) for line in journal.read_text().splitlines() if line.endswith("}")]
    assert 5 <= len(before) < 40
    run_search(load_search_config(cfg), run, resume=True, progress=False)
    after = RunStore(run).records()
    assert [r.to_json() for r in after[: len(before)]] == before  # nothing lost or rewritten
    ok = [r.id for r in after if r.status == "ok"]
    assert len(ok) == len(set(ok))  # nothing evaluated twice
    import optuna

    study = optuna.load_study(study_name=RunStore(run).study_name, storage=RunStore(run).storage_url)
    assert len(study.get_trials(states=(optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.FAIL))) == 40
    assert not study.get_trials(states=(optuna.trial.TrialState.RUNNING,))


def test_a_torn_journal_line_is_ignored_and_repaired(tmp_path):
    store = RunStore(tmp_path)
    store.append(JournalRecord(0, "x", "a", "ok"))
    with (tmp_path / "evaluations.jsonl").open("a") as f:
        f.write('{"id": "b", "sta')
    assert [r.id for r in store.records()] == ["a"]
    store.append(JournalRecord(1, "y", "c", "ok"))
    assert [r.id for r in store.records()] == ["a", "c"]


def test_non_dominated_and_hypervolume_by_hand():
    losses = np.array([[1.0, 3.0], [2.0, 2.0], [3.0, 1.0], [3.0, 3.0]])
    assert list(non_dominated(losses)) == [True, True, True, False]
    frame = pd.DataFrame({"a": [-1.0, -2.0, -3.0, -3.0], "b": [3.0, 2.0, 1.0, 3.0]})
    objectives = [Objective(name="a", direction="max"), Objective(name="b", direction="min")]
    front = pareto_front(frame, objectives)
    assert len(front) == 3 and front["a"].iloc[0] == -1.0
    hv, ref = hypervolume(frame, objectives)  # losses (1,3),(2,2),(3,1),(3,3); reference (3.2, 3.2)
    assert list(ref) == pytest.approx([3.2, 3.2])
    assert hv == pytest.approx(2.2 * 0.2 + 1.2 * 1.0 + 0.2 * 1.0)


def test_pareto_query_where_and_plot(tmp_path):
    run_search(config(trials=16), tmp_path / "run", progress=False)
    front = query(tmp_path / "run")
    assert len(front) >= 1 and (front["macs"] <= 60e6).all()
    small = query(tmp_path / "run", where="macs < 30e6")
    assert (small["macs"] < 30e6).all()
    with pytest.raises(HybridNASError, match="--where 'macz < 1'"):
        query(tmp_path / "run", where="macz < 1")
    from hybridnas.search.pareto import plot

    path = plot(tmp_path / "run", [Objective(name="synflow", direction="max"), Objective(name="macs", direction="min")],
                tmp_path / "front.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_latency_objectives_and_budgets_need_a_table(tmp_path):
    with pytest.raises(HybridNASError, match="needs a latency table"):
        run_search(config(objectives="latency_ms:min"), tmp_path / "run", progress=False)
    with pytest.raises(HybridNASError, match="needs a latency table"):
        run_search(config(budget={"max_latency_ms": 5}), tmp_path / "run2", progress=False)


def test_scores_table_lookup_replaces_computation(tmp_path, monkeypatch):
    from hybridnas import load_space
    from hybridnas.proxies import engine

    space = load_space("nasbench_macro")
    archs = list(space.enumerate())
    pd.DataFrame({"arch": [space.format(a) for a in archs],
                  "synflow": [float(space.cost(a).params) for a in archs]}).to_csv(tmp_path / "scores.csv", index=False)
    monkeypatch.setattr(engine, "score", lambda *a, **k: pytest.fail("computed a proxy"))
    run_search(config(scores_table=str(tmp_path / "scores.csv"), trials=16), tmp_path / "run", progress=False)
    table = RunStore(tmp_path / "run").table()
    ok = table[table.status == "ok"]
    assert len(ok) > 0 and (ok["synflow"] == ok["params"]).all()


def test_proxy_evaluator_builds_its_batch_once(monkeypatch):
    from hybridnas import load_space
    from hybridnas.proxies import engine
    from hybridnas.proxies import ProxyEvaluator

    space = load_space("nasbench_macro")
    evaluator = ProxyEvaluator(space, ["synflow", "naswot"], "gaussian", 0, 4)
    evaluator.setup()
    monkeypatch.setattr(engine, "get_batch", lambda *a, **k: pytest.fail("built a batch per evaluation"))
    result = evaluator.evaluate(space.sample(0))
    assert set(result.metrics) == {"synflow", "naswot"}


@pytest.mark.parametrize("strategy", ["nsga2", "tpe", "random"])
def test_no_strategy_scores_a_network_outside_the_spaces_own_cost_window(strategy, tmp_path):
    import yaml

    from hybridnas import load_space
    from hybridnas.configfile import read_config
    from hybridnas.spaces.loader import SHIPPED_DIR

    raw, _, _ = read_config("nasbench_macro", SHIPPED_DIR, "space")
    raw["constraints"] = {**raw.get("constraints", {}), "macs": {"max": "40M"}}
    path = tmp_path / "windowed.yaml"
    path.write_text(yaml.safe_dump(raw))
    space = load_space(path)
    run_search(config(space=str(path), strategy=strategy, budget={}), tmp_path / "run", progress=False)
    table = RunStore(tmp_path / "run").table()
    scored = table[table.status == "ok"]
    assert len(scored) and (scored["macs"] <= 40e6).all()
    for text in scored["arch"]:
        space.parse(text)  # what the search returns, the space accepts
    assert (table.loc[table.status == "over_budget", "macs"] > 40e6).all()


def _macs_of_nasbench_macro(fraction_under: float) -> float:
    """A MACs budget that about `fraction_under` of nasbench_macro's random networks meet."""
    from hybridnas import load_space

    space = load_space("nasbench_macro")
    return float(np.quantile([space.cost(space.sample(s)).macs for s in range(400)], fraction_under))


@pytest.mark.parametrize("strategy", ["nsga2", "tpe"])
def test_a_tight_budget_starts_the_strategy_within_it(strategy, tmp_path):
    budget = _macs_of_nasbench_macro(0.1)  # 9 in 10 random networks are over it
    cfg = config(strategy=strategy, budget={"max_macs": budget}, trials=10, objectives="synflow:max",
                 population_size=6)
    run_search(cfg, tmp_path / "run", progress=False)
    table = RunStore(tmp_path / "run").table().sort_values("trial")
    start = 6 if strategy == "nsga2" else 10  # NSGA-II's first generation, TPE's start-up trials
    assert (table.head(start)["status"] != "over_budget").all()


def test_the_reference_sample_is_drawn_within_the_budget(tmp_path):
    from hybridnas import load_space

    space = load_space("nasbench_macro")
    budget = float(np.quantile([space.cost(space.sample(s)).params for s in range(400)], 0.2))
    cfg = config(objectives="ensemble:synflow+params:max", budget={"max_params": budget}, trials=2,
                 reference_size=6, strategy="random")
    run_search(cfg, tmp_path / "run", progress=False)
    reference = pd.read_csv(tmp_path / "run" / "reference.csv")  # the members' scores: params is one
    assert len(reference) == 6 and (reference["params"] <= budget).all()


def test_a_budget_nothing_meets_is_refused_before_any_scoring(tmp_path, monkeypatch):
    from hybridnas.proxies import evaluator

    monkeypatch.setattr(evaluator.ProxyEvaluator, "evaluate", lambda *a, **k: pytest.fail("scored a network"))
    with pytest.raises(HybridNASError, match=r"none of \d+ random networks of 'nasbench_macro' fits the budget"):
        run_search(config(budget={"max_macs": 1000}), tmp_path / "run", progress=False)


def test_the_front_shows_each_ensemble_score_as_a_percentile_of_the_reference_sample(tmp_path):
    from click.testing import CliRunner

    from hybridnas.cli.main import main
    from hybridnas.search.pareto import PERCENTILE, parse_objectives, with_percentiles

    cfg = config(objectives="ensemble:synflow+params:max,macs:min", trials=6, reference_size=6, strategy="random")
    run_search(cfg, tmp_path / "run", progress=False)
    objectives = parse_objectives("ensemble:synflow+params:max,macs:min")
    front = with_percentiles(tmp_path / "run", pareto_front(RunStore(tmp_path / "run").table().query(
        "status == 'ok'"), objectives), objectives)
    column = "ensemble:synflow+params" + PERCENTILE
    assert front[column].between(0, 100).all()
    # a better ensemble score never has a lower percentile
    ordered = front.sort_values("ensemble:synflow+params")
    assert ordered[column].is_monotonic_increasing
    result = CliRunner().invoke(main, ["pareto", str(tmp_path / "run")])
    assert result.exit_code == 0 and "(percentile)" in result.output and "reference sample" in result.output
    result = CliRunner().invoke(main, ["pareto", str(tmp_path / "run"), "--plot", str(tmp_path / "front.png")])
    assert result.exit_code == 0 and (tmp_path / "front.png").stat().st_size > 0
