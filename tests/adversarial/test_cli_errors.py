"""User mistakes at the command line are one line on stderr and exit 2, never a traceback (issue: hostile input)."""

import pytest
from click.testing import CliRunner

from hybridnas.cli import main


def invoke(*args, input=None):
    return CliRunner().invoke(main, list(args), input=input)


def assert_user_error(result, *fragments):
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in result.output


def test_binary_stdin():
    assert_user_error(invoke("cost", "nasbench_macro", input=b"\xff\xfe\x00\x81garbage\n"), "not UTF-8 text")


def test_read_only_out(tmp_path, monkeypatch):
    def read_only(*args, **kwargs):  # as a non-root user gets it (tests run as root, which may write anywhere)
        raise PermissionError(13, "Permission denied", str(tmp_path / "locked"))

    monkeypatch.setattr("hybridnas.export.exporter._write_export", read_only)
    assert_user_error(invoke("export", "nasbench_macro", "--arch", "02012100", "--out", str(tmp_path / "x")),
                      "Permission denied")


def test_an_out_path_under_a_file(tmp_path):
    (tmp_path / "file").write_text("x")
    assert_user_error(invoke("export", "nasbench_macro", "--arch", "02012100", "--out", str(tmp_path / "file" / "x")),
                      str(tmp_path / "file"))


def test_a_full_disk_is_one_line(tmp_path, monkeypatch):
    def full(*args, **kwargs):
        raise OSError(28, "No space left on device", str(tmp_path / "out"))

    monkeypatch.setattr("hybridnas.export.exporter._write_export", full)
    assert_user_error(invoke("export", "nasbench_macro", "--arch", "02012100", "--out", str(tmp_path / "out")),
                      "No space left on device")


def test_an_internal_bug_keeps_its_traceback(monkeypatch, tmp_path):
    def bug(*args, **kwargs):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr("hybridnas.export.exporter._write_export", bug)
    result = invoke("export", "nasbench_macro", "--arch", "02012100", "--out", str(tmp_path / "out"))
    assert isinstance(result.exception, ZeroDivisionError)


def test_empty_pareto_objectives(tmp_path):
    from hybridnas.search import load_search_config, run_search

    run_search(load_search_config({"space": "nasbench_macro", "objectives": ["params:max"], "strategy": "random",
                                   "trials": 4, "workers": 0, "data": "gaussian"}),
               tmp_path / "run", progress=False)
    assert_user_error(invoke("pareto", str(tmp_path / "run"), "--objectives", ",,,"), "names no objective")
