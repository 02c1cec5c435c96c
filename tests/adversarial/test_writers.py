"""One writer per output: every command that writes takes the same lock, so a second writer is refused at
once with one line instead of both running and one losing rows (issue: hostile input, round two)."""

import pytest
from click.testing import CliRunner

from hybridnas.cli import main
from hybridnas.io import exclusive_lock


def run(*args, input=None):
    return CliRunner().invoke(main, list(args), input=input)


def refused_busy(result):
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert "is being written by another hybridnas process" in result.output and "Traceback" not in result.output


def test_latency_build_refuses_a_second_writer_of_one_table(tmp_path):
    table = tmp_path / "t.json"
    with exclusive_lock(table, beside=True):  # as a build running in another process holds it
        refused_busy(run("latency", "build", "nasbench_macro", "--device", "cpu", "--out", str(table)))
    assert not table.exists()


def test_proxies_score_refuses_a_second_writer_of_one_csv(tmp_path):
    out = tmp_path / "s.csv"
    with exclusive_lock(out, beside=True):
        refused_busy(run("proxies", "score", "nasbench_macro", "--archs", "-", "--proxies", "params", "--out",
                         str(out), input="02012100\n"))
    assert not out.exists()


def test_supernet_train_and_train_refuse_a_second_writer(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("space: nasbench_macro\ndata: npz:unused.npz\nepochs: 1\n")
    with exclusive_lock(tmp_path / "sn"):
        refused_busy(run("supernet", "train", str(config), "--out", str(tmp_path / "sn")))
    with exclusive_lock(tmp_path / "tr"):
        refused_busy(run("train", "nasbench_macro", "--arch", "02012100", "--data", "npz:unused.npz", "--out",
                         str(tmp_path / "tr")))


def test_export_refuses_a_second_writer_and_leaves_the_folder_alone(tmp_path):
    with exclusive_lock(tmp_path / "ex", beside=True):
        refused_busy(run("export", "nasbench_macro", "--arch", "02012100", "--out", str(tmp_path / "ex")))
    assert not (tmp_path / "ex").exists()


@pytest.mark.parametrize("beside", [False, True])
def test_the_lock_is_released_after_use(tmp_path, beside):
    with exclusive_lock(tmp_path / "x", beside=beside):
        pass
    with exclusive_lock(tmp_path / "x", beside=beside):
        pass
