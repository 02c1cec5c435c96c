"""Latency tables: signatures, build/extend, checksums and conditions, prediction, validation, search budgets."""

import json

import numpy as np
import pytest

from hybridnas import load_space
from hybridnas.latency import (Conditions, LatencyError, LatencyTable, Signature, arch_signatures, build_table,
                               space_signatures, validate_table)
from hybridnas.latency.backends import REFERENCE, TorchBackend
from hybridnas.latency.table import Calibration
from hybridnas.latency.timing import Timing, device_name
from hybridnas.search import RunStore, load_search_config, run_search

FAST = {"warmup": 1, "repeats": 3, "calibrate": 4, "progress": False}


def test_space_signatures_cover_every_layer_of_sampled_archs(space):
    sigs = set(space_signatures(space))
    for seed in range(40):
        arch = space.sample(seed)
        for _, sig in arch_signatures(space, arch):
            assert sig in sigs, sig.describe()


def test_signature_records_round_trip_through_json(space):
    for sig in space_signatures(space)[:200]:
        record = json.loads(json.dumps(sig.to_record()))
        assert Signature.from_record(record) == sig


def test_bad_signature_record_is_an_error():
    with pytest.raises(LatencyError, match="bad layer record"):
        Signature.from_record({"kind": "no_such_layer", "fields": {}, "in_shape": [1, 2, 2], "inputs": 1})


@pytest.fixture(scope="module")
def macro_table(tmp_path_factory):
    path = tmp_path_factory.mktemp("lat") / "macro.json"
    return build_table(load_space("nasbench_macro"), path, **FAST)


def test_build_times_every_signature_and_calibrates(macro_table):
    space = load_space("nasbench_macro")
    assert set(macro_table.entries) == set(space_signatures(space))
    assert all(t.ms > 0 for t in macro_table.entries.values())
    c = macro_table.conditions
    assert (c.device, c.threads, c.batch, c.dtype) == ("cpu", 1, 1, "float32")
    assert c.device_name == device_name("cpu")
    cal = macro_table.calibration
    # which coefficients take the time depends on timing noise; only their validity is checkable here
    assert len(cal.points) == 4 and min(cal.scale, cal.base_ms, cal.per_layer_ms, cal.per_mparam_ms) >= 0
    assert cal.kind_scale and min(cal.kind_scale.values()) >= 0
    assert cal.layer_offset_ms >= 0
    for point in cal.points:  # each point is on the layers' time base, and keeps what the fit read
        arch = space.parse(point["arch"])
        assert point["layer_sum_ms"] == pytest.approx(macro_table.totals(space, arch).layer_sum_ms)
        assert {k: sum(v) for k, v in point["kind_layer_ms"].items()} == pytest.approx(point["kind_ms"])
        assert point["raw_measured_ms"] > 0 and point["measured_ms"] > 0
        assert macro_table.predict(space, arch) > 0
    for key in ("torch", "warmup", "repeats", "created", "reference_ms"):
        assert key in macro_table.meta


def test_predict_is_the_calibrated_sum_of_the_breakdown(macro_table):
    space = load_space("nasbench_macro")
    arch = space.sample(3)
    pred = macro_table.breakdown(space, arch)
    assert len(pred.layers) == len(list(arch_signatures(space, arch)))
    totals = macro_table.totals(space, arch)
    assert (totals.layer_sum_ms, totals.layers) == (pytest.approx(pred.layers["ms"].sum()), len(pred.layers))
    assert pred.total_ms == pytest.approx(macro_table.calibration.apply(totals))
    assert macro_table.predict(space, arch) == pytest.approx(pred.total_ms)


def test_extending_measures_only_missing_layers(macro_table, tmp_path, monkeypatch):
    path = tmp_path / "t.json"
    macro_table.save(path)
    timed = []
    real = TorchBackend.layer_runners

    def recording(self, sigs):  # the reference workload timed beside every chunk is not a table layer
        timed.extend(s for s in sigs if s not in REFERENCE)
        return real(self, sigs)

    monkeypatch.setattr(TorchBackend, "layer_runners", recording)
    build_table(load_space("nasbench_macro"), path, **FAST)
    assert timed == []
    vit = load_space("vit")
    table = build_table(vit, path, **{**FAST, "calibrate": 3})
    assert set(timed) == set(space_signatures(vit)) - set(macro_table.entries)
    assert table.meta["spaces"] == ["nasbench_macro", "vit"]
    assert {p["space"] for p in table.calibration.points} == {"nasbench_macro", "vit"}


def test_extending_a_format_3_table_gives_its_points_per_layer_times(macro_table, tmp_path):
    """A table built before per-layer times were kept gets them from its points' archs, with no measuring."""
    path = tmp_path / "t.json"
    old = LatencyTable.load(macro_table.save(path))
    for point in old.calibration.points:
        del point["kind_layer_ms"]
    old.calibration.layer_offset_ms = 0.0
    old.save(path)
    table = build_table(load_space("nasbench_macro"), path, **FAST)
    assert len(table.calibration.points) == len(macro_table.calibration.points)
    assert all("kind_layer_ms" in p for p in LatencyTable.load(path).calibration.points)
    # a point whose arch the space no longer accepts keeps what it had, and the refit takes no offset
    for point in old.calibration.points:
        point.pop("kind_layer_ms", None)
    old.calibration.points[0]["arch"] = "not an arch of this space"
    old.save(path)
    table = build_table(load_space("nasbench_macro"), path, **FAST)
    assert "kind_layer_ms" not in table.calibration.points[0] and table.calibration.layer_offset_ms == 0.0


def test_a_table_refuses_other_conditions(macro_table, tmp_path):
    space = load_space("nasbench_macro")
    arch = space.sample(0)
    for wrong in ({"threads": 4}, {"batch": 8}, {"dtype": "bfloat16"}, {"device": "cuda"}):
        with pytest.raises(LatencyError, match="was built for"):
            macro_table.predict(space, arch, **wrong)
    path = tmp_path / "t.json"
    macro_table.save(path)
    with pytest.raises(LatencyError, match="batch=1.*not batch=2"):
        build_table(space, path, **{**FAST, "batch": 2})


def test_missing_layers_name_the_command_that_extends_the_table(macro_table):
    vit = load_space("vit")
    with pytest.raises(LatencyError, match="(?s)no entry for .* layer.*hybridnas latency build"):
        macro_table.predict(vit, vit.sample(0))


def test_damaged_tables_are_errors_never_numbers(macro_table, tmp_path):
    path = tmp_path / "t.json"
    macro_table.save(path)
    text = path.read_text()
    (tmp_path / "cut.json").write_text(text[: len(text) // 2])
    with pytest.raises(LatencyError, match="not valid JSON"):
        LatencyTable.load(tmp_path / "cut.json")
    doc = json.loads(text)
    doc["entries"][0]["ms"] *= 2
    (tmp_path / "edited.json").write_text(json.dumps(doc))
    with pytest.raises(LatencyError, match="checksum mismatch"):
        LatencyTable.load(tmp_path / "edited.json")
    (tmp_path / "other.json").write_text("{}")
    with pytest.raises(LatencyError, match="not a hybridnas latency table"):
        LatencyTable.load(tmp_path / "other.json")
    with pytest.raises(LatencyError, match="no such file"):
        LatencyTable.load(tmp_path / "absent.json")
    assert LatencyTable.load(path).entries == macro_table.entries


def test_validate_reports_errors_against_measurements(macro_table):
    space = load_space("nasbench_macro")
    frame, summary = validate_table(space, macro_table, 3, seed=5, progress=False)
    assert len(frame) == 3 and (frame["measured_ms"] > 0).all()
    assert frame["error"].tolist() == pytest.approx((frame["predicted_ms"] / frame["measured_ms"] - 1).tolist())
    assert summary["within_10pct"] == pytest.approx((frame["error"].abs() <= 0.1).mean())
    assert summary["machine_speed_vs_build"] > 0


def test_validate_refuses_a_table_from_another_machine(macro_table):
    table = LatencyTable(Conditions("cpu", "Some Other CPU", 1, 1, "float32"), entries=macro_table.entries)
    with pytest.raises(LatencyError, match="Some Other CPU"):
        validate_table(load_space("nasbench_macro"), table, 2, progress=False)


def synthetic_table(space, path):
    """A table whose entries are MACs-proportional (a real table is too slow to build in a test)."""
    entries = {sig: Timing(0.01 + sig.spec.macs(sig.in_shape) / 1e7, 0.0) for sig in space_signatures(space)}
    table = LatencyTable(Conditions("cpu", "test", 1, 1, "float32"), entries=entries)
    table.save(path)
    return table


def test_search_never_keeps_an_arch_over_the_latency_budget(tmp_path):
    space = load_space("nasbench_macro")
    table = synthetic_table(space, tmp_path / "t.json")
    limit = sorted(table.predict(space, space.sample(s)) for s in range(50))[25]
    config = load_search_config({"space": "nasbench_macro", "objectives": "params:max,latency_ms:min",
                                 "budget": {"max_latency_ms": limit, "latency_table": str(tmp_path / "t.json")},
                                 "trials": 30, "batch_size": 5, "workers": 0, "strategy": "random"})
    run_search(config, tmp_path / "run", progress=False)
    records = RunStore(tmp_path / "run").table()
    ok = records[records.status == "ok"]
    assert len(ok) and (ok["latency_ms"] <= limit).all()
    assert (records.loc[records.status == "over_budget", "latency_ms"] > limit).all()
    for _, row in ok.iterrows():
        assert row["latency_ms"] == pytest.approx(table.predict(space, space.parse(row["arch"])))


def test_latency_objective_or_budget_without_a_table_is_an_error(tmp_path):
    from hybridnas import HybridNASError

    config = load_search_config({"space": "nasbench_macro", "objectives": "latency_ms:min", "workers": 0})
    with pytest.raises(HybridNASError, match="needs a latency table"):
        run_search(config, tmp_path / "run", progress=False)


def test_search_refuses_a_table_that_lacks_layers_of_the_space(tmp_path, macro_table):
    macro_table.save(tmp_path / "t.json")
    config = load_search_config({"space": "vit", "objectives": "params:max,latency_ms:min", "workers": 0,
                                 "budget": {"latency_table": str(tmp_path / "t.json")}})
    with pytest.raises(LatencyError, match="(?s)lacks .* layer.*extend it"):
        run_search(config, tmp_path / "run", progress=False)


def test_calibration_without_per_kind_times_fits_the_shared_terms_only():
    """Points of tables before format 3 keep working: scale, base and per-layer terms, nothing per kind."""
    points = [{"layer_sum_ms": s, "layers": n, "measured_ms": 1.5 * s + 0.2 + 0.01 * n}
              for s, n in ((1.0, 5), (2.0, 9), (4.0, 7), (3.0, 12))]
    cal = Calibration(points=points)
    cal.fit()
    assert (cal.scale, cal.base_ms, cal.per_layer_ms) == pytest.approx((1.5, 0.2, 0.01), rel=1e-6)
    assert cal.kind_scale == {} and cal.per_mparam_ms == 0.0 and cal.layer_offset_ms == 0.0


def _points(kind_scales, base=0.2, per_layer=0.01, per_mparam=0.3, n=12):
    rng = np.random.default_rng(0)
    points = []
    for _ in range(n):
        kind_ms = {k: float(rng.uniform(0.2, 2.0)) for k in kind_scales}
        layers, mparams = int(rng.integers(4, 20)), float(rng.uniform(0.1, 3.0))
        measured = sum(kind_scales[k] * ms for k, ms in kind_ms.items()) + base + per_layer * layers + per_mparam * mparams
        points.append({"layer_sum_ms": sum(kind_ms.values()), "layers": layers, "mparams": mparams,
                       "kind_ms": kind_ms, "measured_ms": measured})
    return points


def test_calibration_recovers_a_shared_scale_and_the_weights_term():
    cal = Calibration(points=_points({"conv": 1.5, "attn": 1.5}))
    cal.fit()
    assert cal.kind_scale == pytest.approx({"conv": 1.5, "attn": 1.5}, rel=1e-4)
    assert (cal.base_ms, cal.per_layer_ms, cal.per_mparam_ms) == pytest.approx((0.2, 0.01, 0.3), rel=1e-3)


def test_per_kind_scales_move_toward_the_truth_and_an_unseen_kind_takes_the_shared_scale():
    from hybridnas.latency.table import LayerTotals

    cal = Calibration(points=_points({"conv": 0.8, "attn": 1.6}, n=40))
    cal.fit()
    assert cal.kind_scale["conv"] < cal.scale < cal.kind_scale["attn"]
    assert abs(cal.kind_scale["conv"] - 0.8) < abs(cal.scale - 0.8)
    assert abs(cal.kind_scale["attn"] - 1.6) < abs(cal.scale - 1.6)
    unseen = LayerTotals(kind_ms={"pool": 1.0}, layers=0, mparams=0.0)
    assert cal.apply(unseen) == pytest.approx(cal.scale + cal.base_ms)


def _offset_points(offset, n=30):
    """Networks whose in-network time is 1.2 x their layers' times less `offset` each, plus 0.1 ms."""
    rng = np.random.default_rng(1)
    points = []
    for _ in range(n):
        kind_layer_ms = {k: list(rng.uniform(0.005, 0.4, int(rng.integers(3, 15)))) for k in ("conv", "attn")}
        measured = sum(1.2 * max(ms - offset, 0.0) for v in kind_layer_ms.values() for ms in v) + 0.1
        points.append({"layer_sum_ms": sum(map(sum, kind_layer_ms.values())), "mparams": 0.0,
                       "layers": sum(map(len, kind_layer_ms.values())),
                       "kind_ms": {k: sum(v) for k, v in kind_layer_ms.items()}, "kind_layer_ms": kind_layer_ms,
                       "measured_ms": measured})
    return points


def test_calibration_finds_the_time_a_layer_saves_inside_a_network():
    from hybridnas.latency.table import LayerTotals

    points = _offset_points(0.03)
    cal = Calibration(points=points)
    cal.fit()
    assert 0.02 <= cal.layer_offset_ms <= 0.04
    error = np.abs([cal.apply(LayerTotals.from_record(p)) / p["measured_ms"] - 1 for p in points]).mean()
    older = Calibration(points=[{k: v for k, v in p.items() if k != "kind_layer_ms"} for p in points])
    older.fit()  # points without per-layer times (format 3) fit no offset, and fit worse here
    assert older.layer_offset_ms == 0.0
    assert error < 0.3 * np.abs([older.apply(LayerTotals.from_record(p)) / p["measured_ms"] - 1 for p in points]).mean()
    none = Calibration(points=_offset_points(0.0))
    none.fit()
    assert none.layer_offset_ms == 0.0 and none.kind_scale == pytest.approx({"conv": 1.2, "attn": 1.2}, rel=1e-3)


def test_an_offset_needs_per_layer_times():
    from hybridnas.latency.table import LayerTotals

    with pytest.raises(LatencyError, match="per-layer"):
        Calibration(layer_offset_ms=0.01).apply(LayerTotals(kind_ms={"conv": 1.0}, layers=3))


def test_anchor_order_spreads_the_anchors_through_every_group():
    from hybridnas.latency.build import anchor_order

    order = anchor_order(50, 32)
    assert sorted(order) == list(range(82))
    assert [i for i in order if i < 50] == list(range(50)) and [i for i in order if i >= 50] == list(range(50, 82))
    for start in range(0, 82, 16):  # every group measured together holds anchors (the last holds two networks)
        assert sum(i >= 50 for i in order[start:start + 16]) >= (5 if start + 16 <= 82 else 1)
    assert anchor_order(3, 0) == [0, 1, 2]


def slowed_measurements(monkeypatch, table, space, factor):
    """Measurements as a machine `factor` x slower than at build would give: validation networks at `factor` x
    their level-1 prediction, calibration networks at `factor` x their recorded time."""
    from hybridnas.latency import build

    recorded = {p["arch"]: p["measured_ms"] for p in table.calibration.points}

    def measure(space_, archs, table_, *args, **kwargs):
        level = table.calibration.level
        times = [factor * recorded.get(space.format(a), table.predict(space, a) / level) for a in archs]
        return times, [0.1] * len(archs)

    monkeypatch.setattr(build, "measure_archs", measure)


def test_validate_takes_a_machine_slowdown_out_by_its_anchors(macro_table, monkeypatch):
    space = load_space("nasbench_macro")
    slowed_measurements(monkeypatch, macro_table, space, 1.1)
    frame, summary = validate_table(space, macro_table, 6, seed=3, progress=False)
    assert summary["anchors"] == len(macro_table.calibration.points) == 4
    assert summary["anchors_vs_build"] == pytest.approx(1.1)
    assert frame["error"].tolist() == pytest.approx([1 / 1.1 - 1] * 6)  # raw: the slowdown looks like error
    assert frame["error_anchored"].abs().max() < 1e-9 and summary["mape_pct_anchored"] < 1e-7
    _, none = validate_table(space, macro_table, 6, seed=3, progress=False, anchors=0)
    assert none["anchors"] == 0 and "mape_pct_anchored" not in none


def test_relevel_scales_predictions_by_the_anchors_slowdown_and_is_kept(macro_table, tmp_path, monkeypatch):
    from hybridnas.latency import relevel_table

    space = load_space("nasbench_macro")
    table = LatencyTable.load(macro_table.save(tmp_path / "t.json"))
    arch = space.sample(7)
    before = table.predict(space, arch)
    slowed_measurements(monkeypatch, table, space, 1.07)
    record = relevel_table(space, table, anchors=3, progress=False)
    assert record["anchors"] == 3 and record["level"] == pytest.approx(1.07) and record["previous_level"] == 1.0
    loaded = LatencyTable.load(tmp_path / "t.json")
    assert loaded.calibration.level == pytest.approx(1.07) and loaded.meta["relevels"][-1]["anchors"] == 3
    assert loaded.predict(space, arch) == pytest.approx(1.07 * before)
    slowed_measurements(monkeypatch, loaded, space, 1.07)  # the machine is as slow as at the relevel
    _, summary = validate_table(space, loaded, 5, progress=False)
    assert summary["mape_pct"] < 1e-7 and summary["mape_pct_anchored"] < 1e-7
    again = relevel_table(space, loaded, anchors=3, progress=False)  # the level is against the build, not the last one
    assert again["level"] == pytest.approx(1.07) and again["previous_level"] == pytest.approx(1.07)
    loaded.calibration.fit()  # a refit keeps the level
    assert loaded.calibration.level == pytest.approx(1.07)
    with pytest.raises(LatencyError, match="keeps no calibration network of space 'nasbench201'"):
        relevel_table(load_space("nasbench201"), loaded, progress=False)


def test_relevel_and_validate_commands_time_the_anchors_here(macro_table, tmp_path):
    from click.testing import CliRunner

    from hybridnas.cli import main

    path = macro_table.save(tmp_path / "t.json")
    runner = CliRunner()
    result = runner.invoke(main, ["latency", "relevel", "nasbench_macro", "--table", str(path), "--anchors", "2",
                                  "--no-progress"])
    assert result.exit_code == 0, result.output
    level = LatencyTable.load(path).calibration.level
    assert "2 calibration networks run" in result.output and f"{level:.3f}" in result.output and level > 0
    result = runner.invoke(main, ["latency", "validate", "nasbench_macro", "--table", str(path), "-n", "2",
                                  "--anchors", "2", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "2 of the table's calibration networks ran" in result.output and "anchored: MAPE" in result.output
    bad = runner.invoke(main, ["latency", "validate", "nasbench_macro", "--table", str(path), "--anchors", "-1"])
    assert bad.exit_code == 2 and "--anchors" in bad.output


def test_a_build_that_measures_new_calibration_networks_resets_the_level(macro_table, tmp_path):
    space = load_space("nasbench_macro")
    table = LatencyTable.load(macro_table.save(tmp_path / "t.json"))
    table.calibration.level = 1.3
    table.save()
    kept = build_table(space, tmp_path / "t.json", **FAST)  # nothing new measured: the level stays
    assert kept.calibration.level == 1.3
    grown = build_table(space, tmp_path / "t.json", **{**FAST, "calibrate": 5})
    assert len(grown.calibration.points) == 5 and grown.calibration.level == 1.0
