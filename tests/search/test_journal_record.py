"""The journal record type: what a line of evaluations.jsonl holds, and one front for every reader."""

import json

import pytest

from hybridnas.errors import HybridNASError
from hybridnas.search import JournalRecord, RunStore, front, load_search_config, query, run_search


def test_a_record_round_trips_through_its_flat_journal_line():
    record = JournalRecord(3, "arch", "abc", "ok", {"macs": 1e6, "naswot": 2.5}, [2.5, 1e6], "", 0.25,
                           {"kind": "train", "epochs": 2})
    line = record.to_json()
    assert line["macs"] == 1e6 and line["naswot"] == 2.5 and "metrics" not in line  # metrics are columns
    assert JournalRecord.from_json(json.loads(json.dumps(line))) == record
    assert record.epochs == 2 and JournalRecord(0, "a", "b", "failed").epochs == 0
    assert record.with_status("pruned").status == "pruned" and record.with_status("pruned").values is None


def test_a_status_outside_the_four_is_refused_and_a_journal_line_with_one_counts_as_damaged(tmp_path):
    with pytest.raises(HybridNASError, match="allowed: ok, failed, over_budget, pruned"):
        JournalRecord(0, "a", "b", "done")  # type: ignore[arg-type]
    store = RunStore(tmp_path)
    store.append(JournalRecord(0, "a", "x", "ok"))
    with (tmp_path / "evaluations.jsonl").open("a") as handle:
        handle.write(json.dumps({"id": "y", "status": "done"}) + "\n")
    assert [r.id for r in store.records()] == ["x"] and store.journal.damaged == [2]


def test_front_is_what_query_the_cli_and_export_read(tmp_path):
    config = load_search_config({"space": "nasbench_macro", "objectives": ["params:max", "macs:min"],
                                 "strategy": "random", "trials": 10, "workers": 0})
    run_search(config, tmp_path / "run", progress=False)
    taken = front(tmp_path / "run")
    assert [o.name for o in taken.objectives] == ["params", "macs"]
    assert len(taken.rows) >= 1 and len(taken.evaluated) == 10 - (taken.evaluated["id"].duplicated()).sum()
    assert taken.rows["params"].is_monotonic_decreasing  # best first by the first objective
    assert query(tmp_path / "run").equals(taken.rows)
    narrowed = front(tmp_path / "run", "params:max", where="macs < 1e15")
    assert len(narrowed.rows) == 1 and narrowed.note is None
