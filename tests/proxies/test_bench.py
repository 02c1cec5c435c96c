import numpy as np
import pandas as pd
import pytest

from hybridnas import HybridNASError, load_space
from hybridnas.proxies import bench
from hybridnas.proxies.bench import BenchConfig, ndcg_at, rank_metrics, run_bench, top_fraction_precision


def test_metrics_on_perfect_and_reversed_rankings():
    truth = pd.Series(np.arange(30.0))
    perfect = rank_metrics(truth * 2, truth)
    assert perfect["kendall_tau"] == pytest.approx(1) and perfect["spearman_rho"] == pytest.approx(1)
    assert perfect["top10_precision"] == 1 and perfect["ndcg10"] == pytest.approx(1)
    reverse = rank_metrics(-truth, truth)
    assert reverse["kendall_tau"] == pytest.approx(-1) and reverse["top10_precision"] == 0


def test_top_precision_and_ndcg_by_hand():
    truth = np.array([1.0, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    pred = np.array([10.0, 2, 3, 4, 5, 6, 7, 8, 9, 1])  # swaps the best and the worst
    assert top_fraction_precision(pred, truth, 0.2) == 0.5
    assert 0 < ndcg_at(pred, truth, 3) < 1


def test_nan_scores_are_left_out():
    out = rank_metrics(pd.Series([1.0, np.nan, 3.0, 4.0]), pd.Series([1.0, 2.0, 3.0, 4.0]))
    assert out["n"] == 3


@pytest.fixture
def gt(tmp_path):
    space = load_space("nasbench_macro")
    rng = np.random.default_rng(0)
    archs = [space.format(space.sample(rng)) for _ in range(30)]
    table = pd.DataFrame({"arch": archs, "acc": [space.cost(space.parse(a)).params for a in archs]})
    path = tmp_path / "gt.csv"
    table.to_csv(path, index=False)
    return space, path


def test_run_bench_writes_tables_and_resumes(gt, tmp_path, monkeypatch):
    space, path = gt
    config = BenchConfig(space.name, str(path), ["acc"], 8, ["params", "synflow", "ensemble:params+synflow"],
                         "gaussian", 0, 8)
    table = run_bench(space, config, tmp_path / "out", progress=False)
    assert set(table["proxy"]) == {"params", "synflow", "ensemble:params+synflow"}
    assert table.set_index("proxy").loc["params", "kendall_tau"] == pytest.approx(1.0)
    for name in ["correlation.csv", "scored.csv", "scores.csv", "config.json"]:
        assert (tmp_path / "out" / name).is_file()

    def no_scoring(*args, **kwargs):
        raise AssertionError("scored again")

    monkeypatch.setattr(bench, "score_or_failure", no_scoring)
    config.targets = ["acc"]
    config.proxies = ["params", "synflow", "ensemble:synflow+params*2"]  # a new ensemble needs no rescoring
    again = run_bench(space, config, tmp_path / "out", progress=False)
    assert "ensemble:synflow+params*2" in set(again["proxy"])


def test_ground_truth_errors(gt, tmp_path):
    space, path = gt
    with pytest.raises(HybridNASError, match=r"missing columns \['top1'\]"):
        run_bench(space, BenchConfig(space.name, str(path), ["top1"], 4, ["params"], "gaussian", 0), tmp_path)
    with pytest.raises(HybridNASError, match="more than the 30 rows"):
        run_bench(space, BenchConfig(space.name, str(path), ["acc"], 99, ["params"], "gaussian", 0), tmp_path)


def test_a_smaller_n_reuses_the_scores_of_a_larger_one(gt, tmp_path, monkeypatch):
    space, path = gt
    config = BenchConfig(space.name, str(path), ["acc"], 12, ["params", "synflow"], "gaussian", 0, 8, distinct=True)
    run_bench(space, config, tmp_path / "out", progress=False)
    monkeypatch.setattr(bench, "score_or_failure", lambda *a, **k: (_ for _ in ()).throw(AssertionError("scored again")))
    config.n = 5  # the leading rows of the same seeded order
    small = pd.read_csv(tmp_path / "out" / "scored.csv")
    run_bench(space, config, tmp_path / "out", progress=False)
    assert list(pd.read_csv(tmp_path / "out" / "scored.csv")["arch"]) == list(small["arch"][:5])


def test_split_folds_are_disjoint_and_distinct_rows_are_distinct_networks(gt):
    space, path = gt
    table = bench.read_ground_truth(path, ["acc"])
    table = pd.concat([table, table.head(5)])  # repeated networks
    folds = [bench.sample_rows(space, table, BenchConfig(space.name, str(path), ["acc"], 8, [], "gaussian", k, 8,
                                                         distinct=True, split=f"{k}/2")) for k in (0, 1)]
    assert not set(folds[0]["id"]) & set(folds[1]["id"])
    assert all(f["id"].is_unique for f in folds)
    with pytest.raises(HybridNASError, match="write K/N with 0 <= K < N"):
        bench.parse_split("2/2")


def test_a_network_that_cannot_be_allocated_is_one_failed_row(gt, tmp_path, monkeypatch):
    from hybridnas.proxies import engine

    space, path = gt
    real = engine.score
    calls = []

    def out_of_memory_once(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise MemoryError("cannot allocate 12 TB")
        return real(*args, **kwargs)

    monkeypatch.setattr(engine, "score", out_of_memory_once)
    config = BenchConfig(space.name, str(path), ["acc"], 6, ["params"], "gaussian", 0, 8)
    run_bench(space, config, tmp_path / "out", progress=False)
    scored = pd.read_csv(tmp_path / "out" / "scored.csv")
    failed = scored[scored["errors"].notna()]
    assert len(scored) == 6 and len(failed) == 1 and "MemoryError: cannot allocate" in failed["errors"].iloc[0]
    assert scored["params"].notna().sum() == 5
