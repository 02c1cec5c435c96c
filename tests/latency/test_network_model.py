"""`hybridnas latency fit`: a network-level latency model from networks measured elsewhere, used as a table is."""

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from hybridnas import load_space
from hybridnas.cli import main
from hybridnas.latency import Conditions, LatencyError, fit_network_model, load_latency
from hybridnas.latency.network_model import FEATURES, network_features
from hybridnas.search import RunStore, load_search_config, run_search

CONDITIONS = Conditions(device="external", device_name="board", threads=0, batch=1, dtype="float32",
                        backend="measured", statistic="as measured")
TRUE_COEF = np.array([0.4, 2e-8, 1e-7, 0.0, 3e-7, 0.01, 0.05])  # in FEATURES order: a latency the model can represent


def measured(space, count, seed=0):
    rng = np.random.default_rng(seed)
    archs = list(dict.fromkeys(space.sample(rng) for _ in range(count)))
    return archs, [float(network_features(space, a) @ TRUE_COEF) for a in archs]


def test_fit_recovers_a_latency_in_its_features_and_reports_leave_one_out():
    space = load_space("mnasnet")
    archs, ms = measured(space, 20)
    model = fit_network_model(space, archs[:12], ms[:12], CONDITIONS)
    assert len(model.coef) == len(FEATURES) and min(model.coef) >= 0
    predicted = [model.predict(space, a) for a in archs[12:]]
    np.testing.assert_allclose(predicted, ms[12:], rtol=1e-6)
    assert model.loo["mape_pct"] < 1e-4 and model.loo["spearman"] > 0.999
    assert model.breakdown(space, archs[0]).total_ms == pytest.approx(ms[0], rel=1e-6)


def test_fit_refuses_too_few_or_impossible_measurements():
    space = load_space("mnasnet")
    archs, ms = measured(space, 8)
    with pytest.raises(LatencyError, match="at least 7"):
        fit_network_model(space, archs[:6], ms[:6], CONDITIONS)
    with pytest.raises(LatencyError, match="positive"):
        fit_network_model(space, archs, [*ms[:-1], -1.0], CONDITIONS)
    with pytest.raises(LatencyError, match="positive"):
        fit_network_model(space, archs, [*ms[:-1], float("nan")], CONDITIONS)


def test_model_file_round_trips_and_refuses_edits_and_other_spaces(tmp_path):
    space = load_space("mnasnet")
    archs, ms = measured(space, 10)
    path = fit_network_model(space, archs, ms, CONDITIONS).save(tmp_path / "model.json")
    loaded = load_latency(path)
    assert loaded.predict(space, archs[0]) == pytest.approx(ms[0], rel=1e-6)
    with pytest.raises(LatencyError, match="fitted on space 'mnasnet'"):
        loaded.predict(load_space("nasbench_macro"), load_space("nasbench_macro").sample(0))
    from hybridnas.latency import LatencyTable

    with pytest.raises(LatencyError, match="is a latency model .* not a per-layer table"):
        LatencyTable.load(path)  # validate and relevel need a table timed here
    doc = json.loads(path.read_text())
    doc["coef"][1] = 0.0
    path.write_text(json.dumps(doc))
    with pytest.raises(LatencyError, match="checksum mismatch"):
        load_latency(path)


def test_search_budget_takes_a_fitted_model(tmp_path):
    space = load_space("nasbench_macro")
    archs, ms = measured(space, 12)
    path = fit_network_model(space, archs, ms, CONDITIONS).save(tmp_path / "model.json")
    cap = float(np.median(ms))
    config = load_search_config({"space": "nasbench_macro", "objectives": "params:max,latency_ms:min",
                                 "budget": {"max_latency_ms": cap, "latency_table": str(path)},
                                 "strategy": "random", "trials": 12, "batch_size": 4, "workers": 0})
    run_search(config, tmp_path / "run", progress=False)
    table = RunStore(tmp_path / "run").table()
    ok = table[table.status == "ok"]
    assert len(ok) > 0 and (ok["latency_ms"] <= cap).all()
    for row in ok.itertuples():
        assert row.latency_ms == pytest.approx(float(network_features(space, space.parse(row.arch)) @ TRUE_COEF),
                                               rel=1e-6)


def test_cli_fit_then_predict(tmp_path):
    space = load_space("mnasnet")
    archs, ms = measured(space, 10)
    pd.DataFrame({"arch": [space.format(a) for a in archs], "ms": ms}).to_csv(tmp_path / "m.csv", index=False)
    runner = CliRunner()
    result = runner.invoke(main, ["latency", "fit", "mnasnet", str(tmp_path / "m.csv"), "--out",
                                  str(tmp_path / "model.json"), "--device", "ZCU102", "--column", "ms"])
    assert result.exit_code == 0, result.output
    assert "fitted on 10 mnasnet networks measured on ZCU102" in result.output
    result = runner.invoke(main, ["latency", "predict", "mnasnet", "--table", str(tmp_path / "model.json"), "--csv"],
                           input=space.format(archs[0]) + "\n")
    assert result.exit_code == 0 and float(result.output.splitlines()[1].split(",")[1]) == pytest.approx(ms[0], rel=1e-5)
    assert result.output.splitlines()[1].split(",")[2] == "0"  # the model predicts no layer: it has none
    result = runner.invoke(main, ["latency", "predict", "mnasnet", "--table", str(tmp_path / "model.json"), "--csv",
                                  "--breakdown"], input=space.format(archs[0]) + "\n")
    assert result.exit_code == 0 and ",model," in result.output and ",predicted," not in result.output


@pytest.mark.parametrize("rows, message", [
    ("arch,latency\ne6k3l1|e6k3l1|e6k3l1|e6k3l1|e6k3l1|e6k3l1|e6k3l1,1.0\n", "lacks column(s) latency_ms"),
    ("arch,latency_ms\nnot-an-arch,1.0\n", "line 2"),
])
def test_cli_fit_bad_input_is_one_line_exit_2(tmp_path, rows, message):
    (tmp_path / "m.csv").write_text(rows)
    result = CliRunner().invoke(main, ["latency", "fit", "mnasnet", str(tmp_path / "m.csv"), "--out",
                                       str(tmp_path / "model.json"), "--device", "x"])
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "model.json").exists()


def test_depthwise_macs_are_the_depthwise_part_of_macs():
    from hybridnas.ir import layers as L

    mbconv = L.MBConv(16, 24, 5, 6, stride=2)
    assert mbconv.depthwise_macs((16, 32, 32)) == 16 * 16 * mbconv.hidden * 25 < mbconv.macs((16, 32, 32))
    depthwise = L.ConvNormAct(32, 32, 3, groups=32)
    assert depthwise.depthwise_macs((32, 8, 8)) == depthwise.macs((32, 8, 8)) == 8 * 8 * 32 * 9
    assert L.ConvNormAct(32, 64, 3).depthwise_macs((32, 8, 8)) == 0
    assert L.MetaBlock(64, "conv", 4, kernel=7).depthwise_macs((64, 8, 8)) == 8 * 8 * 64 * 49
    assert L.MetaBlock(64, "attention", 4, heads=2).depthwise_macs((64, 8, 8)) == 0
    assert L.MBConv(16, 16, 3, 4, se_ratio=0.25).global_pools() == 1 and mbconv.global_pools() == 0


def test_export_with_a_model_marks_its_latency_as_the_model_s(tmp_path):
    from hybridnas.export import export_arch

    space = load_space("mnasnet")
    archs, ms = measured(space, 10)
    path = fit_network_model(space, archs, ms, CONDITIONS).save(tmp_path / "model.json")
    export_arch(space, archs[0], tmp_path / "out", latency_tables=[load_latency(path)])
    latency = pd.read_csv(tmp_path / "out" / "latency.csv")
    total = latency[latency.node.str.startswith("TOTAL")]
    assert list(total.node) == ["TOTAL (fitted model)"] and list(total.source) == ["model"]
    assert total.ms.item() == pytest.approx(ms[0], rel=1e-6)
