"""Property-based fuzzing of every input a user hands the tool: search configs, --where expressions, latency
tables and data files. Any generated input is accepted or refused with a typed, one-line HybridNASError,
never another exception (issue: hostile input, round two). The example counts are fixed for the quick
tier; `HYPOTHESIS_PROFILE=nightly` multiplies them (tests/conftest.py)."""

import json

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hybridnas.errors import HybridNASError
from tests.adversarial.fuzzing import examples
from hybridnas.search.config import load_search_config
from hybridnas.search.where import apply_where

NUMBERS = st.one_of(st.integers(min_value=-10**30, max_value=10**30), st.floats(allow_nan=True, allow_infinity=True),
                    st.sampled_from(["100M", "1e400", "lots", "-1", "0", "1.5G", ".nan", "", "1e-300"]))
KEYS = st.sampled_from(["space", "objectives", "budget", "strategy", "trials", "batch_size", "seed", "data",
                        "proxy_batch_size", "workers", "reference_size", "population_size", "tournament_size",
                        "epoch_budget", "fidelity", "screen", "predictor", "bogus"])
VALUES = st.recursive(st.one_of(NUMBERS, st.text(max_size=12), st.booleans(), st.none()),
                      lambda inner: st.one_of(st.lists(inner, max_size=4),
                                              st.dictionaries(st.sampled_from(["max_macs", "max_params", "kind",
                                                                               "recipe", "epochs", "lr", "keep",
                                                                               "candidates", "table", "column"]),
                                                              inner, max_size=4)), max_leaves=10)


@settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(extra=st.dictionaries(KEYS, VALUES, max_size=5))
def test_any_search_config_is_valid_or_a_typed_error(extra):
    raw = {"space": "nasbench_macro", "objectives": "synflow:max", **extra}
    try:
        config = load_search_config(raw)
    except HybridNASError:
        return
    for limit in (config.budget.max_macs, config.budget.max_params):  # what got through is a sane budget
        assert limit is None or 0 < limit <= 1e18


WHERE_PIECES = st.sampled_from(["macs", "params", "`ensemble:a+b`", "<", "<=", ">", "==", "!=", "and", "or", "not",
                                "(", ")", "50M", "3e7", "'x'", "&", "|", "~", "__import__", "1e400", "nan", " "])


@settings(max_examples=examples(300), deadline=None)
@given(pieces=st.lists(WHERE_PIECES, max_size=12))
def test_any_where_expression_filters_or_is_a_typed_error(pieces):
    frame = pd.DataFrame({"macs": [1e7, 6e7], "params": [1e5, 2e5], "ensemble:a+b": [0.1, -0.2]})
    try:
        kept = apply_where(frame, " ".join(pieces))
    except HybridNASError:
        return
    assert set(kept.index) <= set(frame.index)


@settings(max_examples=examples(100), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=st.recursive(st.one_of(NUMBERS.filter(lambda v: not isinstance(v, str)), st.text(max_size=8),
                                  st.none()),
                        lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                st.dictionaries(st.sampled_from(["format", "version", "checksum",
                                                                                 "conditions", "meta", "calibration",
                                                                                 "entries", "level", "ms"]),
                                                                inner, max_size=5)), max_leaves=12))
def test_any_latency_table_loads_or_is_a_typed_error(tmp_path_factory, doc):
    from hybridnas.latency import LatencyTable

    path = tmp_path_factory.mktemp("table") / "t.json"
    try:
        path.write_text(json.dumps(doc))
    except (ValueError, OverflowError):
        return  # not representable as JSON text at all
    try:
        LatencyTable.load(path)
    except HybridNASError:
        return


@settings(max_examples=examples(60), deadline=None)
@given(arrays=st.dictionaries(st.sampled_from(["x_train", "y_train", "x_test", "y_test", "other"]),
                              st.tuples(st.sampled_from(["uint8", "int64", "float32", "object", "U3"]),
                                        st.lists(st.integers(0, 4), min_size=1, max_size=4)), max_size=5),
       raw=st.binary(max_size=64), use_raw=st.booleans())
def test_any_npz_file_is_data_or_a_typed_error(tmp_path_factory, arrays, raw, use_raw):
    from hybridnas.data.sources import load_arrays

    path = tmp_path_factory.mktemp("npz") / "d.npz"
    if use_raw:
        path.write_bytes(raw)
    else:
        made = {}
        for name, (dtype, shape) in arrays.items():
            made[name] = (np.empty(shape, dtype=object) if dtype == "object" else np.zeros(shape, dtype=dtype))
        np.savez(path, **made)
    try:
        load_arrays(f"npz:{path}", "train")
    except HybridNASError:
        return
