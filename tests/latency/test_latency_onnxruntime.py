"""The onnxruntime latency backend, the timing statistic and pinning: build, predict, validate, search, conditions."""

import json

import pytest
from click.testing import CliRunner

from hybridnas import load_space
from hybridnas.cli import main
from hybridnas.latency import (Conditions, LatencyError, LatencyTable, build_table, space_signatures,
                               validate_table)
from hybridnas.latency.table import checksum
from hybridnas.latency.timing import Timing, device_name, time_all
from hybridnas.spaces.loader import shipped_spaces
from hybridnas.latency.backends import list_backends, make_backend
from hybridnas.search import RunStore, load_search_config, run_search

FAST = {"warmup": 1, "repeats": 3, "calibrate": 3, "progress": False}


@pytest.fixture(scope="module")
def ort_table(tmp_path_factory):
    path = tmp_path_factory.mktemp("ort") / "macro_ort.json"
    return build_table(load_space("nasbench_macro"), path, backend="onnxruntime", **FAST)


@pytest.mark.slow
def test_onnxruntime_table_times_every_layer_and_records_its_runtime(ort_table):
    space = load_space("nasbench_macro")
    assert set(ort_table.entries) == set(space_signatures(space))
    # a layer's time is what it adds to the runtime's fixed cost per call, floored at 0 (build.py): a layer as
    # fast as the call itself, on a loaded machine, is 0, never negative; the table as a whole takes time
    assert all(t.ms >= 0 for t in ort_table.entries.values()) and sum(t.ms for t in ort_table.entries.values()) > 0
    c = ort_table.conditions
    assert (c.backend, c.optimization, c.device, c.dtype, c.statistic) == ("onnxruntime", "all", "cpu", "float32", "min")
    assert "onnxruntime" in c.describe() and "graph optimisation all" in c.describe()
    assert {"onnxruntime", "onnx_opset", "torch"} <= set(ort_table.meta)
    # each session.run's fixed cost is measured beside the layers and taken off them (a network pays it once)
    assert all(0 < ms < 1 for ms in ort_table.meta["call_overhead_ms"])
    loaded = LatencyTable.load(ort_table.path)
    assert loaded.conditions == c
    arch = space.sample(1)
    assert loaded.predict(space, arch) == pytest.approx(ort_table.predict(space, arch))
    assert ort_table.predict(space, arch) > 0


@pytest.mark.slow
def test_a_table_of_one_backend_refuses_the_other(ort_table, tmp_path):
    with pytest.raises(LatencyError, match="backend='onnxruntime'.*not backend='torch'"):
        ort_table.check(backend="torch")
    with pytest.raises(LatencyError, match="built for"):  # extending it with the torch backend is refused
        build_table(load_space("nasbench_macro"), ort_table.path, **FAST)


@pytest.mark.slow
def test_onnxruntime_table_validates_against_onnxruntime_runs(ort_table):
    frame, summary = validate_table(load_space("nasbench_macro"), ort_table, 2, progress=False)
    assert summary["n"] == 2 and (frame["measured_ms"] > 0).all() and summary["machine_speed_vs_build"] > 0


@pytest.mark.slow
def test_search_under_an_onnxruntime_latency_budget(ort_table, tmp_path):
    space = load_space("nasbench_macro")
    limit = sorted(ort_table.predict(space, space.sample(s)) for s in range(40))[20]
    config = load_search_config({"space": "nasbench_macro", "objectives": "params:max,latency_ms:min",
                                 "budget": {"max_latency_ms": limit, "latency_table": str(ort_table.path)},
                                 "trials": 12, "batch_size": 4, "workers": 0, "strategy": "random"})
    run_search(config, tmp_path / "run", progress=False)
    records = RunStore(tmp_path / "run").table()
    ok = records[records.status == "ok"]
    assert len(ok) and (ok["latency_ms"] <= limit).all()


def test_backends_are_registered_and_refuse_conditions_they_cannot_time():
    assert list_backends() == ["onnxruntime", "torch"]
    with pytest.raises(LatencyError, match="CPU execution provider.*--backend torch"):
        make_backend("onnxruntime", "cuda", 1, "float32", 1)
    with pytest.raises(LatencyError, match="float32"):
        make_backend("onnxruntime", "cpu", 1, "bfloat16", 1)
    with pytest.raises(LatencyError, match="--optimization 'all' for the torch backend"):
        make_backend("torch", "cpu", 1, "float32", 1, "all")
    assert make_backend("onnxruntime", "cpu", 1, "float32", 1).optimization == "all"


def test_cli_rejects_an_impossible_backend_setting_in_one_line(tmp_path):
    for args, says in ((["--backend", "onnxruntime", "--device", "cuda"], "CPU execution provider"),
                       (["--optimization", "basic"], "for the torch backend"),
                       (["--backend", "tensorrt"], "Invalid value for '--backend'")):
        result = CliRunner().invoke(main, ["latency", "build", "nasbench_macro", "--out", str(tmp_path / "t.json"),
                                           *args])
        assert result.exit_code == 2 and says in result.output, result.output
        assert "Traceback" not in result.output
    assert not (tmp_path / "t.json").exists()


def test_a_format_1_table_reads_as_a_torch_table_of_medians_and_is_not_extended_with_minima(tmp_path):
    space = load_space("nasbench_macro")
    entries = {sig: Timing(0.01 + sig.spec.macs(sig.in_shape) / 1e7, 0.0) for sig in space_signatures(space)}
    LatencyTable(Conditions("cpu", device_name("cpu"), 1, 1, "float32", statistic="min"), entries=entries).save(
        tmp_path / "t.json")
    doc = json.loads((tmp_path / "t.json").read_text())
    for key in ("backend", "optimization", "statistic"):  # what format 1 did not have
        del doc["conditions"][key]
    for entry in doc["entries"]:
        entry["median_ms"] = entry.pop("ms")
    doc["version"] = 1
    doc["checksum"] = checksum({k: doc[k] for k in ("conditions", "meta", "calibration", "entries")})
    (tmp_path / "t.json").write_text(json.dumps(doc))
    old = LatencyTable.load(tmp_path / "t.json")
    assert (old.conditions.backend, old.conditions.statistic) == ("torch", "median")
    assert old.entries == entries
    with pytest.raises(LatencyError, match="statistic='median'.*not statistic='min'"):
        build_table(space, tmp_path / "t.json", **FAST)
    built = build_table(space, tmp_path / "median.json", statistic="median", **{**FAST, "calibrate": 0})
    assert built.conditions.statistic == "median"
    with pytest.raises(LatencyError, match="statistic 'mean'"):
        build_table(space, tmp_path / "x.json", statistic="mean", **FAST)


def test_pinning_is_recorded_reused_by_validation_and_restored(tmp_path):
    import os

    before = os.sched_getaffinity(0)
    core = str(min(before))
    space = load_space("nasbench_macro")
    table = build_table(space, tmp_path / "t.json", pin_cpus=core, **FAST)
    assert table.meta["pinned_cpus"] == [int(core)] and os.sched_getaffinity(0) == before
    seen = []
    real = os.sched_setaffinity
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(os, "sched_setaffinity", lambda pid, cpus: seen.append(set(cpus)) or real(pid, cpus))
        validate_table(space, LatencyTable.load(tmp_path / "t.json"), 1, progress=False)
    assert seen[0] == {int(core)} and os.sched_getaffinity(0) == before
    for bad, says in (("x", "give cores such as"), ("9999", "may run on cores")):
        with pytest.raises(LatencyError, match=says):
            build_table(space, tmp_path / "u.json", pin_cpus=bad, **FAST)


@pytest.mark.slow
@pytest.mark.parametrize("space_name", shipped_spaces())
def test_every_shipped_space_times_in_onnxruntime(space_name):
    """Every kind of layer a shipped space has exports and runs as a timed ONNX Runtime layer, and a
    whole network runs as a timed ONNX Runtime network (a full table per space is benchmarks/' job)."""
    space = load_space(space_name)
    sigs = space_signatures(space)
    one_per_kind = list({(s.spec.kind, getattr(s.spec, "mixer", None), s.inputs): s for s in sigs}.values())
    backend = make_backend("onnxruntime", "cpu", 1, "float32", 1)
    runners = backend.layer_runners(one_per_kind) + backend.network_runners([space.build(space.sample(0))],
                                                                            space.input_shape)
    timings = time_all(runners + [backend.overhead_runner()], "cpu", warmup=1, repeats=3, rounds=1)
    assert all(t.ms > 0 for t in timings)
