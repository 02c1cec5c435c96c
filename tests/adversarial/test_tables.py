"""Latency tables with a valid checksum but impossible values are refused on load (issue: hostile input)."""

import json

import pytest

from hybridnas import load_space
from hybridnas.latency import LatencyTable
from hybridnas.latency.signature import LatencyError
from hybridnas.latency.table import checksum
from tests.latency.test_latency import synthetic_table


def forge(path, edit):
    """Edit a table's content and write it back with a valid checksum, as an attacker would."""
    doc = json.loads(path.read_text())
    edit(doc)
    content = {k: doc[k] for k in ("conditions", "meta", "calibration", "entries")}
    doc["checksum"] = checksum(content)
    path.write_text(json.dumps(doc))


@pytest.mark.parametrize("value", [-1.0, float("nan"), float("inf")])
def test_negative_or_non_finite_layer_times_are_refused(tmp_path, value):
    path = tmp_path / "t.json"
    synthetic_table(load_space("nasbench_macro"), path)
    forge(path, lambda doc: doc["entries"][0].update(ms=value))
    with pytest.raises(LatencyError, match="negative, not finite or past a day"):
        LatencyTable.load(path)


def test_a_negative_calibration_is_refused(tmp_path):
    path = tmp_path / "t.json"
    synthetic_table(load_space("nasbench_macro"), path)
    forge(path, lambda doc: doc["calibration"].update(base_ms=-100.0))
    with pytest.raises(LatencyError, match="must be finite and >= 0"):
        LatencyTable.load(path)


@pytest.mark.parametrize("edit", [lambda c: c.update(kind_scale={"conv_norm_act": -2.0}),
                                  lambda c: c.update(per_mparam_ms=float("nan")),
                                  lambda c: c.update(layer_offset_ms=-0.5),
                                  lambda c: c.update(kind_scale=[1.0])])
def test_a_negative_or_malformed_per_kind_calibration_is_refused(tmp_path, edit):
    path = tmp_path / "t.json"
    synthetic_table(load_space("nasbench_macro"), path)
    forge(path, lambda doc: edit(doc["calibration"]))
    with pytest.raises(LatencyError, match="must be finite and >= 0|malformed"):
        LatencyTable.load(path)


@pytest.mark.parametrize("point", [{"layer_sum_ms": 1.0, "layers": 3, "measured_ms": 0.0},
                                   {"layer_sum_ms": 1.0, "layers": 3, "measured_ms": 1.0, "kind_ms": [1.0]},
                                   {"layer_sum_ms": "1", "layers": 3, "measured_ms": 1.0}, [1.0, 2.0],
                                   {"layer_sum_ms": 1.0, "layers": 3, "measured_ms": 1.0, "kind_layer_ms": {"a": [-1.0]}},
                                   {"layer_sum_ms": 1.0, "layers": 3, "measured_ms": 1.0, "kind_layer_ms": {"a": 1.0}}])
def test_a_calibration_point_a_refit_cannot_read_is_refused(tmp_path, point):
    path = tmp_path / "t.json"
    synthetic_table(load_space("nasbench_macro"), path)
    forge(path, lambda doc: doc["calibration"].update(points=[point]))
    with pytest.raises(LatencyError, match=r"point\(s\) \[0\] are malformed"):
        LatencyTable.load(path)


def test_deeply_nested_json_is_an_error_not_a_recursion_traceback(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(LatencyError):
        LatencyTable.load(path)


@pytest.mark.parametrize("level", [0.0, -1.0, float("nan"), "fast", 1e-300, 1e300, 10 ** 4000])
def test_a_level_that_is_not_a_sane_positive_number_is_refused(tmp_path, level):
    # 1e-300 passed every latency budget with a valid checksum; a 4,000-digit integer raised OverflowError
    path = tmp_path / "t.json"
    synthetic_table(load_space("nasbench_macro"), path)
    forge(path, lambda doc: doc["calibration"].update(level=level))
    with pytest.raises(LatencyError, match="calibration level .* must be finite and from 0.001 to 1000"):
        LatencyTable.load(path)


def test_layer_times_past_a_day_and_a_meta_that_is_not_a_mapping_are_refused(tmp_path):
    path = tmp_path / "t.json"
    synthetic_table(load_space("nasbench_macro"), path)
    forge(path, lambda doc: doc["entries"][0].update(ms=1e308))  # made predictions NaN
    with pytest.raises(LatencyError, match="past a day"):
        LatencyTable.load(path)
    synthetic_table(load_space("nasbench_macro"), path)
    forge(path, lambda doc: doc.update(meta=["not", "a", "mapping"]))
    with pytest.raises(LatencyError, match="meta must be a mapping"):
        LatencyTable.load(path)
