"""The learned ranker: fits held-out ranks, round-trips as plain JSON, refuses bad files, drives a search."""

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy import stats

from hybridnas import HybridNASError, load_space
from hybridnas.cli import main
from hybridnas.proxies.predictor import RankPredictor, fit_rank_predictor


@pytest.fixture(scope="module")
def macro_labels():
    """NAS-Bench-Macro networks with an accuracy that rewards pairs of choices and a 'params' proxy."""
    space = load_space("nasbench_macro")
    archs = list(dict.fromkeys(space.sample(seed) for seed in range(400)))
    enc = np.stack([space.encode(a) for a in archs])
    rng = np.random.default_rng(0)
    pair = rng.normal(size=(enc.shape[1], enc.shape[1]))
    params = np.array([space.cost(a).params for a in archs], float)
    accuracy = np.einsum("ni,ij,nj->n", enc, pair, enc) + 2 * stats.zscore(np.log(params))
    return space, archs, accuracy, pd.DataFrame({"params": params})


def test_it_ranks_networks_it_was_not_fitted_on(macro_labels):
    space, archs, accuracy, scores = macro_labels
    fitted = fit_rank_predictor(space, archs[:200], accuracy[:200], scores.iloc[:200], ["params"])
    prediction = fitted.predict_archs(space, archs[200:], scores.iloc[200:])
    assert stats.kendalltau(prediction, accuracy[200:]).statistic > 0.6
    assert fitted.labelled == 200 and fitted.ridge in (0.003, 0.01, 0.03, 0.1, 0.3, 1.0) and fitted.cv_tau > 0.5


def test_a_saved_predictor_is_plain_json_and_predicts_the_same(macro_labels, tmp_path):
    space, archs, accuracy, scores = macro_labels
    fitted = fit_rank_predictor(space, archs[:60], accuracy[:60], scores.iloc[:60], ["params"])
    fitted.save(tmp_path / "p.json")
    raw = json.loads((tmp_path / "p.json").read_text())
    assert raw["space"] == "nasbench_macro" and raw["proxies"] == ["params"]
    loaded = RankPredictor.load(tmp_path / "p.json")
    np.testing.assert_allclose(loaded.predict_archs(space, archs[60:90], scores.iloc[60:90]),
                               fitted.predict_archs(space, archs[60:90], scores.iloc[60:90]))
    failed = pd.DataFrame({"params": [np.nan]})  # a failed proxy counts as its worst value
    assert loaded.percentiles(failed)[0, 0] == -0.5


@pytest.mark.parametrize("edit, message", [
    (lambda raw: "{not json", "not a hybridnas predictor file"),
    (lambda raw: json.dumps({**raw, "alpha": raw["alpha"][:-1]}), "inconsistent contents"),
    (lambda raw: json.dumps({**raw, "ridge": float("inf")}), "not finite numbers"),
    (lambda raw: json.dumps({**raw, "reference": {k: [float("nan")] * len(v) for k, v in raw["reference"].items()}}),
     "not finite numbers"),  # NaN reference values were accepted and silently changed every score
    (lambda raw: json.dumps({**raw, "proxies": ["bogus"], "reference": {"bogus": []}}), "unknown proxy 'bogus'"),
    (lambda raw: json.dumps({**raw, "extra": 1}), "not a hybridnas predictor file"),
])
def test_a_damaged_predictor_file_is_a_clear_error(macro_labels, tmp_path, edit, message):
    space, archs, accuracy, scores = macro_labels
    fit_rank_predictor(space, archs[:20], accuracy[:20], scores.iloc[:20], ["params"]).save(tmp_path / "p.json")
    (tmp_path / "p.json").write_text(edit(json.loads((tmp_path / "p.json").read_text())))
    with pytest.raises(HybridNASError, match=message):
        RankPredictor.load(tmp_path / "p.json")


def test_cli_fit_then_search_by_prediction(macro_labels, tmp_path):
    from hybridnas.search import RunStore, load_search_config, run_search

    space, archs, accuracy, scores = macro_labels
    labels = pd.DataFrame({"arch": [space.format(a) for a in archs[:12]], "top1": accuracy[:12],
                           "params": scores["params"][:12]})
    labels.to_csv(tmp_path / "labels.csv", index=False)
    result = CliRunner().invoke(main, ["predictor", "fit", "nasbench_macro", "--labels", str(tmp_path / "labels.csv"),
                                       "--accuracy", "top1", "--proxies", "params,macs",
                                       "--out", str(tmp_path / "p.json")])
    assert result.exit_code == 0, result.output
    assert "12 networks" in result.output and RankPredictor.load(tmp_path / "p.json").proxies == ["params", "macs"]
    objective = f"predictor:{tmp_path / 'p.json'}"
    search = load_search_config({"space": "nasbench_macro", "objectives": f"{objective}:max,macs:min", "trials": 3,
                                 "batch_size": 3, "workers": 0, "strategy": "random"})
    run_search(search, tmp_path / "run", progress=False)
    ok = RunStore(tmp_path / "run").table().query("status == 'ok'")
    assert len(ok) == 3 and np.isfinite(ok[objective]).all() and (ok["macs"] > 0).all()
    result = CliRunner().invoke(main, ["predictor", "fit", "nasbench_macro", "--labels", str(tmp_path / "labels.csv"),
                                       "--out", str(tmp_path / "q.json")])
    assert result.exit_code == 2 and "no column 'accuracy'" in result.output and result.output.count("\n") == 1


def test_a_search_refuses_a_predictor_of_another_space(macro_labels, tmp_path):
    from hybridnas.search import load_search_config, run_search

    space, archs, accuracy, scores = macro_labels
    fit_rank_predictor(space, archs[:20], accuracy[:20], scores.iloc[:20], ["params"]).save(tmp_path / "p.json")
    search = load_search_config({"space": "nasbench201", "objectives": f"predictor:{tmp_path / 'p.json'}:max",
                                 "trials": 2, "workers": 0})
    with pytest.raises(HybridNASError, match="fitted on space 'nasbench_macro'"):
        run_search(search, tmp_path / "run", progress=False)


def test_with_a_scores_table_the_predictor_reads_its_proxies_there(macro_labels, tmp_path):
    from hybridnas.proxies.evaluator import PredictorEvaluator
    from hybridnas.search import RunStore, load_search_config, run_search

    space, archs, accuracy, scores = macro_labels
    texts = [space.format(a) for a in space.enumerate()]
    meco = pd.DataFrame({"meco": np.arange(len(texts), dtype=float)})  # made-up scores, only in the table
    fit_rank_predictor(space, [space.parse(t) for t in texts[:20]], accuracy[:20], meco.iloc[:20],
                       ["meco"]).save(tmp_path / "p.json")
    pd.DataFrame({"arch": texts[:-1], "meco": meco["meco"][:-1]}).to_csv(tmp_path / "scores.csv", index=False)
    objective = f"predictor:{tmp_path / 'p.json'}"
    search = load_search_config({"space": "nasbench_macro", "objectives": f"{objective}:max", "trials": 4,
                                 "batch_size": 4, "workers": 2, "strategy": "random",
                                 "scores_table": str(tmp_path / "scores.csv")})
    run_search(search, tmp_path / "run", progress=False)  # looked up in process: no Ray despite workers: 2
    ok = RunStore(tmp_path / "run").table().query("status == 'ok'")
    assert len(ok) == 4 and all(row.meco == texts.index(row.arch) for row in ok.itertuples())
    missing = PredictorEvaluator(space, [objective], search).evaluate(space.parse(texts[-1]))
    assert objective not in missing.metrics and "proxies it reads failed: meco" in missing.errors[objective]
