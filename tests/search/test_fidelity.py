"""Training-aware search: the training fidelity, successive halving through Optuna's pruner, resumes, the
table oracle's exact cost, proxy screening and predictor-guided selection (issue: training-aware search)."""

from __future__ import annotations

import json

import optuna
import pytest
from optuna.trial import TrialState

from hybridnas import load_space
from hybridnas.evaluation import FidelityConfig
from hybridnas.search import RunStore, load_search_config, run_search
from hybridnas.search.config import SearchConfigError
from hybridnas.supernet.fidelity import TrainingFidelityEvaluator

# About 100 training images (3 steps) and 200 held out: seconds per network on the CI machine
TINY_RECIPE = {"epochs": 2, "batch_size": 32, "train_fraction": 0.02, "holdout": 0.04, "warmup_epochs": 0}


@pytest.fixture(scope="module")
def subset(shared):
    path = shared / "data" / "cifar10_subset.npz"
    if not path.is_file():
        pytest.skip(f"{path} is missing")
    return f"npz:{path}"


@pytest.fixture
def nb201_12epoch(shared):
    path = shared / "benchmarks" / "nasbench201_12epoch.csv.gz"
    if not path.is_file():
        pytest.skip(f"{path} is missing")
    return str(path)


def training_search(subset: str, **over) -> dict:
    return {"space": "nasbench_macro", "objectives": "val_accuracy:max", "strategy": "random", "trials": 6,
            "batch_size": 6, "seed": 0, "workers": 0, "data": subset, "budget": {},
            "fidelity": {"kind": "train", "recipe": TINY_RECIPE, "min_epochs": 1, "reduction_factor": 2}, **over}


def journal(run) -> list[dict]:
    return [json.loads(line) for line in (run / "evaluations.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def halving_run(subset, tmp_path_factory):
    """One successive-halving search on the CIFAR subset, shared by the tests that read or resume it."""
    run = tmp_path_factory.mktemp("halving") / "run"
    run_search(load_search_config(training_search(subset)), run, progress=False)
    return run


def test_successive_halving_on_the_cifar_subset_reports_every_epoch_and_prunes(halving_run):
    run = halving_run
    records = journal(run)
    study = optuna.load_study(study_name=RunStore(run).study_name, storage=RunStore(run).storage_url)
    states = [t.state for t in study.trials]
    assert TrialState.PRUNED in states and TrialState.COMPLETE in states  # Optuna's own pruner decided
    pruned = [r for r in records if r["status"] == "pruned"]
    finished = [r for r in records if r["status"] == "ok"]
    assert all(r["fidelity"]["epochs"] == 1 and len(r["fidelity"]["curve"]) == 1 for r in pruned)
    assert all(r["fidelity"]["epochs"] == 2 and len(r["fidelity"]["curve"]) == 2 for r in finished)
    for record in records:  # the fidelity of every score: epochs, images, recipe hash
        assert record["fidelity"]["recipe"] == FidelityConfig(recipe=TINY_RECIPE).recipe.digest()
        assert record["fidelity"]["images"] > 0
    for trial in study.trials:  # every trained epoch reached the trial as an intermediate value
        record = next(r for r in records if r["id"] == trial.user_attrs["arch_id"])
        assert list(trial.intermediate_values.values()) == pytest.approx(record["fidelity"]["curve"])
    # finished trainings keep their checkpoints; a pruned one is never resumed, so its checkpoint is deleted
    assert {p.name for p in (run / "fidelity").iterdir()} == {f"{r['id']}-{r['fidelity']['recipe']}.pt"
                                                             for r in finished}


def test_a_killed_training_resumes_from_its_checkpoint_exactly(subset, tmp_path):
    space = load_space("nasbench_macro")
    arch = space.parse("02012100")
    config = FidelityConfig(recipe=TINY_RECIPE, work_dir=str(tmp_path / "a"))
    stopped = TrainingFidelityEvaluator(space, config, subset)
    first = stopped.evaluate_at(arch, 1)  # the worker is killed here: only the epoch-1 checkpoint is left
    resumed = TrainingFidelityEvaluator(space, config, subset).evaluate_at(arch, 2)
    straight = TrainingFidelityEvaluator(space, config.model_copy(update={"work_dir": str(tmp_path / "b")}),
                                         subset).evaluate_at(arch, 2)
    assert first.fidelity["epochs"] == 1 and resumed.fidelity["epochs"] == 2
    assert resumed.fidelity["curve"] == pytest.approx(straight.fidelity["curve"])
    assert resumed.metrics["val_accuracy"] == pytest.approx(straight.metrics["val_accuracy"])


def test_a_resumed_search_keeps_its_pruned_trials_and_trains_nothing_twice(subset, halving_run, tmp_path):
    import shutil

    run = shutil.copytree(halving_run, tmp_path / "run")
    before = journal(run)
    run_search(load_search_config(training_search(subset, trials=8)), run, resume=True, progress=False)
    after = journal(run)
    assert after[:len(before)] == before
    ids = [r["id"] for r in after]
    assert len(ids) == len(set(ids))  # a pruned network asked again is told PRUNED, not retrained
    study = optuna.load_study(study_name=RunStore(run).study_name, storage=RunStore(run).storage_url)
    assert len(study.trials) == 8 and sum(t.state == TrialState.PRUNED for t in study.trials) >= 1


def table_search(table: str, **over) -> dict:
    return {"space": "nasbench201", "objectives": "val_accuracy:max", "strategy": "random", "trials": 200,
            "batch_size": 1, "seed": 0, "workers": 0, "storage": "memory", "epoch_budget": 12 * 15,
            "fidelity": {"kind": "table", "table": table, "column": "cifar10-val", "epochs_per_query": 12}, **over}


def test_the_table_oracle_charges_twelve_epochs_per_distinct_network_exactly(nb201_12epoch, tmp_path):
    run = tmp_path / "run"
    run_search(load_search_config(table_search(nb201_12epoch)), run, progress=False)
    records = journal(run)
    assert len(records) == len({r["id"] for r in records}) == 15  # the epoch budget stopped it at 180 epochs
    assert sum(r["fidelity"]["epochs"] for r in records) == 180
    assert all(r["fidelity"]["kind"] == "table" and r["fidelity"]["source"].endswith("#cifar10-val")
               for r in records)


def test_a_resumed_search_may_spend_more_training_epochs_never_fewer(nb201_12epoch, tmp_path):
    from hybridnas.errors import HybridNASError

    run = tmp_path / "run"
    raw = {k: v for k, v in table_search(nb201_12epoch).items() if k != "storage"}  # resumable: sqlite
    run_search(load_search_config(raw), run, progress=False)
    before = journal(run)
    run_search(load_search_config({**raw, "epoch_budget": 12 * 20}), run, resume=True, progress=False)
    after = journal(run)
    assert after[:len(before)] == before and len(after) == len({r["id"] for r in after}) == 20
    assert sum(r["fidelity"]["epochs"] for r in after) == 240
    with pytest.raises(HybridNASError, match="--epoch-budget 120 is fewer than the run's 240"):
        run_search(load_search_config({**raw, "epoch_budget": 120}), run, resume=True, progress=False)

    from click.testing import CliRunner

    from hybridnas.cli import main

    extended = CliRunner().invoke(main, ["search", "--resume", str(run), "--epoch-budget", "288", "--no-progress"])
    assert extended.exit_code == 0, extended.output
    assert sum(r["fidelity"]["epochs"] for r in journal(run)) == 288
    refused = CliRunner().invoke(main, ["search", "--resume", str(run), "--epoch-budget", "12", "--no-progress"])
    assert refused.exit_code == 2 and "a resume can only add training epochs" in refused.output


def test_a_search_may_not_select_on_a_test_column(nb201_12epoch):
    raw = table_search(nb201_12epoch)
    raw["fidelity"] = {**raw["fidelity"], "column": "cifar10-test"}
    with pytest.raises(SearchConfigError, match="test column; a search may only select on validation"):
        load_search_config(raw)


def test_successive_halving_needs_one_objective_and_val_accuracy_needs_a_fidelity(subset, tmp_path):
    with pytest.raises(SearchConfigError, match="successive halving reports one objective"):
        load_search_config(training_search(subset, objectives="val_accuracy:max,macs:min"))
    from hybridnas.errors import HybridNASError

    with pytest.raises(SearchConfigError, match="epoch_budget caps the epochs a training fidelity spends"):
        load_search_config({**training_search(subset), "objectives": "macs:min", "fidelity": None,
                            "epoch_budget": 10})
    with pytest.raises(HybridNASError, match="val_accuracy needs a training fidelity"):
        run_search(load_search_config({**training_search(subset), "fidelity": None}), tmp_path / "r", progress=False)


def test_screened_and_predictor_train_only_screened_networks_best_proxy_first(nb201_12epoch, tmp_path):
    screen = {"candidates": 30, "keep": 0.5, "objective": "params"}
    raw = table_search(nb201_12epoch, data="gaussian", proxy_batch_size=8, epoch_budget=None, trials=12,
                       screen=screen)
    run_search(load_search_config({**raw, "strategy": "screened"}), tmp_path / "screened", progress=False)
    screened = RunStore(tmp_path / "screened").root / "screened.csv"
    import pandas as pd

    table = pd.read_csv(screened, dtype={"id": str})
    kept = table[table["kept"]]
    assert len(table) == 30 and len(kept) == 15
    assert [r["id"] for r in journal(tmp_path / "screened")] == list(kept["id"].head(12))  # best first
    run_search(load_search_config({**raw, "strategy": "screened", "trials": 40}), tmp_path / "all", progress=False)
    assert [r["id"] for r in journal(tmp_path / "all")] == list(kept["id"])  # the kept networks and no other

    run_search(load_search_config({**raw, "strategy": "predictor", "predictor": {"initial": 4}}),
               tmp_path / "predictor", progress=False)
    picked = [r["id"] for r in journal(tmp_path / "predictor")]
    assert len(picked) == len(set(picked)) == 12  # never a network twice
    assert set(picked) <= set(kept["id"])  # only screened networks are trained
    assert picked[:4] == list(kept["id"].head(4))  # the zero-cost warm start: best proxy first
