"""`--where` is parsed by its own grammar: it filters as documented and can never run code."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hybridnas.search.where import MAX_DEPTH, WhereError, apply_where, parse_where

FRAME = pd.DataFrame({"macs": [10e6, 40e6, 80e6, np.nan], "naswot": [5.0, 1.0, 3.0, 2.0],
                      "status": ["ok", "ok", "failed", "ok"], "ensemble:a+b": [-1.0, -2.0, -0.5, -3.0]})


@pytest.mark.parametrize("text, rows", [
    ("macs < 50M", [0, 1]),
    ("macs < 50e6 and naswot > 2", [0]),
    ("macs >= 40M or naswot == 2", [1, 2, 3]),
    ("not (macs < 50M)", [2, 3]),
    ("~(naswot > 1) | status == 'failed'", [1, 2]),
    ("status != \"ok\"", [2]),
    ("`ensemble:a+b` > -1.5", [0, 2]),
    ("naswot > -1 & macs <= 10000000", [0]),
    ("macs != macs", [3]),  # a missing value compares false, so != is its negation only where values exist
    ("((naswot > 4))", [0]),
    (".5 < naswot", [0, 1, 2, 3]),
])
def test_filters_select_the_documented_rows(text, rows):
    assert list(apply_where(FRAME, text).index) == rows


def test_the_documented_exploit_runs_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for text in ["@pd.io.common.os.system('echo pwned > pwned.txt')",
                 "__import__('os').system('echo pwned > pwned.txt')",
                 "macs < 1 or @pd.io.common.os.system('touch pwned.txt')",
                 "macs.__class__ > 1", "`macs` < (lambda: 1)()"]:
        with pytest.raises(WhereError):
            apply_where(FRAME, text)
    assert not (tmp_path / "pwned.txt").exists()


@pytest.mark.parametrize("text, message", [
    ("   ", "empty"),
    ("macz < 1", "no column 'macz'; columns: \\['macs'"),
    ("macs <", "ends too early"),
    ("macs 1", "expected a comparison"),
    ("(macs < 1", "not closed"),
    ("status < 'ok'", "text can only be compared with == or !="),
    ("status == 1", "compares text with a number"),
    ("macs < 1 macs", "unexpected 'macs'"),
    ("macs < 1; import os", "unexpected ';'"),
    ("- macs < 1", "'-' must come before a number"),
])
def test_bad_filters_say_what_is_wrong_and_what_is_allowed(text, message):
    with pytest.raises(WhereError, match=message):
        apply_where(FRAME, text)


def test_deep_nesting_and_long_input_are_refused_without_recursion_errors():
    with pytest.raises(WhereError, match=f"more than {MAX_DEPTH} levels"):
        parse_where("(" * 500 + "macs < 1" + ")" * 500)
    with pytest.raises(WhereError, match="at most 2000"):
        parse_where("macs < 1 and " * 500 + "macs < 1")


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("macs naswot<>=!()&|~`'\"-.0123456789eMKG_andortn@;:[]{}+*/\\")),
               max_size=60))
def test_any_text_is_a_filter_or_a_where_error(text):
    try:
        result = apply_where(FRAME, text)
    except WhereError as exc:
        assert "--where" in str(exc)
    else:
        assert set(result.index) <= set(FRAME.index)
