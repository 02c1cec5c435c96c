"""Storage and run identity: one study per run, storage errors in one line, the searched space pinned
(issue: hostile input, round two). Each case crossed runs, printed a traceback or built another network
before its fix."""

import pytest
import yaml

from tests.adversarial.cli import refused, run
from hybridnas.configfile import read_config
from hybridnas.search import RunStore
from hybridnas.spaces.loader import SHIPPED_DIR

SEARCH = "space: {space}\nobjectives: [synflow:max]\ntrials: 3\nworkers: 0\nproxy_batch_size: 4\n"



@pytest.fixture
def config(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(SEARCH.format(space="nasbench_macro"))
    return path


def test_each_run_has_its_own_study_and_a_storage_holding_another_runs_is_refused(config, tmp_path):
    assert run("search", str(config), "--out", str(tmp_path / "a")).exit_code == 0
    assert run("search", str(config), "--out", str(tmp_path / "b")).exit_code == 0
    a, b = RunStore(tmp_path / "a"), RunStore(tmp_path / "b")
    assert a.study_name != b.study_name and a.study_name.startswith("hybridnas-")
    before = (tmp_path / "a" / "study.db").read_bytes()
    refused(run("search", str(config), "--out", str(tmp_path / "c"), "--storage", a.storage_url),
            "already holds the study of another run")
    assert (tmp_path / "a" / "study.db").read_bytes() == before
    assert run("search", "--resume", str(tmp_path / "a"), "--trials", "4").exit_code == 0  # still resumable


@pytest.mark.parametrize("url, says", [("bogus://x", "cannot be opened"),
                                       ("postgresql://u@127.0.0.1:1/db", "--storage postgresql://"),
                                       ("sqlite:////nonexistent/dir/x.db", "cannot be opened")])
def test_storage_urls_that_cannot_work_are_one_line(config, tmp_path, url, says):
    refused(run("search", str(config), "--out", str(tmp_path / "r"), "--storage", url), says)


def test_a_garbage_study_db_on_resume_is_one_line(config, tmp_path):
    assert run("search", str(config), "--out", str(tmp_path / "r")).exit_code == 0
    (tmp_path / "r" / "study.db").write_bytes(b"this is not a database" * 100)
    refused(run("search", "--resume", str(tmp_path / "r"), "--trials", "4"), "cannot be opened")


def test_a_run_pins_its_space_an_edited_space_is_refused_and_export_builds_what_was_searched(tmp_path):
    raw, _, _ = read_config("nasbench_macro", SHIPPED_DIR, "space")
    space = tmp_path / "space.yaml"
    space.write_text(yaml.safe_dump(raw))
    config = tmp_path / "s.yaml"
    config.write_text(SEARCH.format(space=space))
    assert run("search", str(config), "--out", str(tmp_path / "r")).exit_code == 0
    searched = (tmp_path / "r" / "space.yaml").read_text()
    space.write_text(yaml.safe_dump({**raw, "num_classes": 100}))  # the user edits the space afterwards
    refused(run("search", "--resume", str(tmp_path / "r"), "--trials", "4"), "changed since", "space.yaml")
    assert run("export", str(tmp_path / "r"), "--rank", "1", "--out", str(tmp_path / "x")).exit_code == 0
    card = yaml.safe_load((tmp_path / "x" / "card.yaml").read_text())
    assert card["input"]["num_classes"] == 10 and (tmp_path / "r" / "space.yaml").read_text() == searched


def test_an_unreachable_ray_address_is_refused_at_once(config, tmp_path):
    import time

    start = time.monotonic()
    refused(run("search", str(config), "--out", str(tmp_path / "r"), "--workers", "1", "--ray-address",
                "127.0.0.1:1"), "--ray-address 127.0.0.1:1: nothing answers there")
    assert time.monotonic() - start < 60  # Ray retried forever before


@pytest.mark.parametrize("name", ["../../x", "a/b", "", ".hidden/.."])
def test_a_pipeline_name_is_a_folder_name_not_a_path(tmp_path, name):
    config = tmp_path / "p.yaml"
    config.write_text(yaml.safe_dump({"name": name}))
    refused(run("run", str(config), "--out", str(tmp_path / "out")), "name")
    assert not (tmp_path.parent / "x").exists()


def test_a_study_that_cannot_be_written_mid_search_loses_no_finished_evaluation(config, tmp_path, monkeypatch):
    """A full disk under study.db (here: Optuna's own error after 5 tells) is one line; every evaluation that
    finished is in the journal, and --resume completes the run from it without scoring any network twice."""
    import optuna

    real_tell, calls = optuna.Study.tell, {"n": 0}

    def tell_until_the_disk_fills(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] > 5:
            raise optuna.exceptions.StorageInternalError("database or disk is full")
        return real_tell(self, *args, **kwargs)

    monkeypatch.setattr(optuna.Study, "tell", tell_until_the_disk_fills)
    result = run("search", str(config), "--out", str(tmp_path / "r"), "--trials", "12")
    refused(result, "could not be written", "every finished evaluation is in evaluations.jsonl")
    journaled = RunStore(tmp_path / "r").records()
    assert len(journaled) >= 6  # the evaluation whose tell failed was journaled first
    monkeypatch.setattr(optuna.Study, "tell", real_tell)
    assert run("search", "--resume", str(tmp_path / "r"), "--trials", "12").exit_code == 0
    after = RunStore(tmp_path / "r").records()
    assert after[:len(journaled)] == journaled
    ok = [r.id for r in after if r.status == "ok"]
    assert len(ok) == len(set(ok))


def test_a_disk_that_fills_mid_search_loses_no_finished_evaluation(tmp_path):
    """A real full disk, simulated with a per-file size limit (RLIMIT_FSIZE) that study.db outgrows after a
    few trials: the search ends with one line and exit 2, every evaluation that finished is still in the
    journal (which stays under the limit), and --resume without the limit completes the run from it."""
    import resource
    import signal
    import subprocess
    import sys

    def limit_file_size():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (130_000, 130_000))  # a fresh study.db is ~115 kB

    config = tmp_path / "s.yaml"
    config.write_text(SEARCH.format(space="nasbench_macro").replace("synflow:max", "params:max"))
    command = [sys.executable, "-m", "hybridnas", "search", str(config), "--out", str(tmp_path / "r"), "--trials", "60"]
    full = subprocess.run(command, capture_output=True, text=True, preexec_fn=limit_file_size, timeout=600)
    assert full.returncode == 2, full.stderr[-2000:]
    assert "Traceback" not in full.stderr and "could not be written" in full.stderr, full.stderr[-2000:]
    journaled = RunStore(tmp_path / "r").records()
    assert 3 <= len(journaled) < 60
    assert run("search", "--resume", str(tmp_path / "r"), "--trials", "60").exit_code == 0
    after = RunStore(tmp_path / "r").records()
    assert after[:len(journaled)] == journaled  # nothing finished before the disk filled was lost
    ok = [r.id for r in after if r.status == "ok"]
    assert len(ok) == len(set(ok)) and len(ok) >= 50


def test_pareto_of_a_run_whose_points_all_coincide_is_no_error(tmp_path):
    """A space of one network: every point sits where the reference point is built from (issue: Optuna's
    hypervolume raised ValueError on `pareto` and `pareto --plot`)."""
    space = tmp_path / "one.yaml"
    space.write_text("name: one\ninput: {size: 8}\nnum_classes: 4\nstem: {type: conv, width: 8}\n"
                     "stages:\n  - {depth: 1, width: 8, layout: 'conv*', downsample: {type: conv, stride: 1}}\n")
    config = tmp_path / "s.yaml"
    config.write_text(f"space: {space}\nobjectives: [params:max, macs:min]\ntrials: 3\nworkers: 0\n")
    assert run("search", str(config), "--out", str(tmp_path / "r"), "--no-progress").exit_code == 0
    plain = run("pareto", str(tmp_path / "r"))
    assert plain.exit_code == 0 and "hypervolume" in plain.output and "Traceback" not in plain.output
    plotted = run("pareto", str(tmp_path / "r"), "--plot", str(tmp_path / "f.png"))
    assert plotted.exit_code == 0 and (tmp_path / "f.png").read_bytes()[:4] == b"\x89PNG"
