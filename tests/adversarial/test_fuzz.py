"""Random text at the arch parser and the journal reader: a typed error or a result, never a traceback."""

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hybridnas import load_space
from hybridnas.errors import HybridNASError
from tests.adversarial.fuzzing import examples
from hybridnas.search.record import JournalRecord
from hybridnas.search.store import JournalBackend

SPACES = {name: load_space(name) for name in ("hybrid_cifar", "nasbench201", "nasbench_macro")}
ARCH_ALPHABET = st.sampled_from(list("wkhrp0123456789|:+*-.~_ conv attention pool identity none skip{}[]\",") +
                                ["*99999999999", "conv-k3-r2", "|nor_conv_3x3~0|", "\x00", "é"])


@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(sorted(SPACES)), pieces=st.lists(ARCH_ALPHABET, max_size=40))
def test_any_text_parses_to_an_arch_or_a_typed_error(name, pieces):
    space = SPACES[name]
    text = "".join(pieces)
    try:
        arch = space.parse(text)
    except HybridNASError:
        return
    assert space.parse(space.format(arch)) == arch


@settings(max_examples=examples(200), deadline=None)
@given(lines=st.lists(st.one_of(st.binary(max_size=40),
                                st.builds(lambda n: json.dumps({"id": str(n), "status": "ok"}).encode(),
                                          st.integers())), max_size=12))
def test_the_journal_reader_keeps_good_records_and_counts_the_rest(tmp_path_factory, lines):
    path = tmp_path_factory.mktemp("journal") / "evaluations.jsonl"
    path.write_bytes(b"".join(line.replace(b"\n", b" ") + b"\n" for line in lines))
    journal = JournalBackend(path)
    records = list(journal.read())
    assert all(isinstance(r, JournalRecord) and r.status == "ok" for r in records)
    assert len(records) + len(journal.damaged) == len(lines)


def _shipped_raw(name: str) -> dict:
    import yaml

    from hybridnas.spaces.loader import SHIPPED_DIR

    return yaml.safe_load((SHIPPED_DIR / f"{name}.yaml").read_text())


def _paths(node, prefix=()):
    """Every key path into a nested dict/list, the root excluded."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in items:
        yield prefix + (key,)
        yield from _paths(child, prefix + (key,))


def _replaced(node, path, value):
    if not path:
        return value
    copy = dict(node) if isinstance(node, dict) else list(node)
    copy[path[0]] = _replaced(copy[path[0]], path[1:], value)
    return copy


HOSTILE_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.sampled_from([10**12, -1, 0, 2**63, 10**30]),
              st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
              st.sampled_from(["conv*", "attention**", "(conv", "[conv|", "99999999999", "1e12", "nan", "!!python"])),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=3),
                            st.fixed_dictionaries({"range": st.lists(inner, max_size=3)}),
                            st.fixed_dictionaries({"choices": st.lists(inner, max_size=3)})),
    max_leaves=8)


@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), name=st.sampled_from(sorted(SPACES)))
def test_any_space_yaml_loads_or_is_refused_with_a_typed_error(data, name):
    raw = _shipped_raw(name)
    paths = sorted(_paths(raw), key=repr)
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(paths))
        try:
            raw = _replaced(raw, path, data.draw(HOSTILE_VALUES))
        except (KeyError, IndexError, TypeError):  # an earlier replacement removed this path
            continue
    try:
        space = load_space(raw)
    except HybridNASError:
        return
    space.sample(0)  # a space that loads can be sampled without a traceback


@settings(max_examples=examples(100), deadline=None)
@given(text=st.text(max_size=200))
def test_any_yaml_text_is_a_space_or_a_typed_error(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("space") / "space.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        load_space(path)
    except HybridNASError:
        pass
