import pytest

from hybridnas.spaces.values import Param, parse_quantity, to_param


@pytest.mark.parametrize("raw, expected", [("100M", 1e8), ("1.5G", 1.5e9), ("300k", 3e5), (42, 42.0), ("2e6", 2e6)])
def test_parse_quantity(raw, expected):
    assert parse_quantity(raw) == expected


@pytest.mark.parametrize("raw", ["ten", "5X", True, None, [1]])
def test_parse_quantity_rejects(raw):
    with pytest.raises(ValueError, match="expected a number"):
        parse_quantity(raw)


def test_param_forms():
    assert to_param(4).values == (4,) and not to_param(4).searchable
    assert to_param({"choices": [1, 2, 4]}).values == (1, 2, 4)
    assert to_param({"range": [2, 8], "step": 2}).values == (2, 4, 6, 8)
    assert to_param({"range": [1, 3]}).values == (1, 2, 3)
    assert to_param({"choices": ["conv*", "attention*"]}, str).values == ("conv*", "attention*")
    assert to_param({"range": [1, 3], "scalable": True}).scalable


@pytest.mark.parametrize("raw, message", [
    ([1, 2], "expected an integer"),
    ({"choices": []}, "non-empty list"),
    ({"choices": [1, 1]}, "duplicates"),
    ({"range": [5, 1]}, "lo <= hi"),
    ({"range": [1, 2], "stp": 1}, "got keys"),
    ({"choices": [1.5]}, "expected an integer"),
])
def test_param_errors_explain_forms(raw, message):
    with pytest.raises(ValueError, match=message):
        to_param(raw)


def test_param_sample_is_seeded():
    import numpy as np

    p = Param((1, 2, 3, 4))
    a = [p.sample(np.random.default_rng(3)) for _ in range(5)]
    b = [p.sample(np.random.default_rng(3)) for _ in range(5)]
    assert a == b and all(v in p for v in a)
