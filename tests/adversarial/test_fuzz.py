"""Random text at the arch parser and the journal reader: a typed error or a result, never a traceback."""

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hybridnas import load_space
from hybridnas.errors import HybridNASError
from hybridnas.search.store import JournalBackend

SPACES = {name: load_space(name) for name in ("hybrid_cifar", "nasbench201", "nasbench_macro")}
ARCH_ALPHABET = st.sampled_from(list("wkhrp0123456789|:+*-.~_ conv attention pool identity none skip{}[]\",") +
                                ["*99999999999", "conv-k3-r2", "|nor_conv_3x3~0|", "\x00", "é"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(sorted(SPACES)), pieces=st.lists(ARCH_ALPHABET, max_size=40))
def test_any_text_parses_to_an_arch_or_a_typed_error(name, pieces):
    space = SPACES[name]
    text = "".join(pieces)
    try:
        arch = space.parse(text)
    except HybridNASError:
        return
    assert space.parse(space.format(arch)) == arch


@settings(max_examples=200, deadline=None)
@given(lines=st.lists(st.one_of(st.binary(max_size=40),
                                st.builds(lambda n: json.dumps({"id": str(n), "status": "ok"}).encode(),
                                          st.integers())), max_size=12))
def test_the_journal_reader_keeps_good_records_and_counts_the_rest(tmp_path_factory, lines):
    path = tmp_path_factory.mktemp("journal") / "evaluations.jsonl"
    path.write_bytes(b"".join(line.replace(b"\n", b" ") + b"\n" for line in lines))
    journal = JournalBackend(path)
    records = list(journal.read())
    assert all(isinstance(r, dict) and "id" in r for r in records)
    assert len(records) + len(journal.damaged) == len(lines)
