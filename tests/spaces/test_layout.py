import pytest

from hybridnas.models import list_mixers
from hybridnas.spaces.layout import LayoutError, matches, parse_layout

KNOWN = frozenset(list_mixers())


def names(slots):
    return [sorted(s)[0] if len(s) == 1 else "|".join(sorted(s)) for s in slots]


@pytest.mark.parametrize("text, depth, expected", [
    ("conv*", 3, ["conv", "conv", "conv"]),
    ("conv* attention", 3, ["conv", "conv", "attention"]),
    ("conv* attention", 1, ["attention"]),
    ("(conv attention)*", 3, ["conv", "attention", "conv"]),
    ("attention*", 2, ["attention", "attention"]),
    ("pool conv*", 2, ["pool", "conv"]),
    ("[conv|identity]*", 2, ["conv|identity", "conv|identity"]),
    ("conv conv attention", 3, ["conv", "conv", "attention"]),
])
def test_expand(text, depth, expected):
    assert names(parse_layout(text, KNOWN).expand(depth)) == expected


def test_expand_impossible_depth_is_none():
    assert parse_layout("conv conv attention", KNOWN).expand(2) is None
    assert parse_layout("conv conv attention", KNOWN).expand(4) is None
    assert parse_layout("pool conv* attention", KNOWN).expand(1) is None


@pytest.mark.parametrize("text, message", [
    ("conv* attention*", "more than one starred"),
    ("convv*", "unknown mixer 'convv'"),
    ("(conv (attention))*", "nested groups"),
    ("(conv attention", "unclosed"),
    ("(conv* attention)", "inside a group"),
    ("conv, attention", "cannot read layout"),
])
def test_layout_errors(text, message):
    with pytest.raises(LayoutError, match=message):
        parse_layout(text, KNOWN)


def test_matches_with_identity_slots():
    slots = parse_layout("[conv|identity]* attention", KNOWN).expand(3)
    assert matches(("conv", "attention"), slots)
    assert matches(("attention",), slots)
    assert matches(("conv", "conv", "attention"), slots)
    assert not matches(("attention", "conv"), slots)
    assert not matches(("conv",), slots)
