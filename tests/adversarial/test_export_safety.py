"""Export writes a fresh folder atomically and only safe names into generated code (issue: hostile input)."""

import pytest
from click.testing import CliRunner

from hybridnas import load_space
from hybridnas.cli import main
from hybridnas.export import ExportError, export_arch

ARCH = "02012100"


@pytest.fixture(scope="module")
def macro():
    return load_space("nasbench_macro")


@pytest.mark.parametrize("name", ["abc\n", "build_model", "load_model", "torch", "GraphNet", "os", "print",
                                  "class", "a-b", "1abc", ""])
def test_names_that_break_or_collide_with_model_py_are_refused(macro, tmp_path, name):
    with pytest.raises(ExportError, match="model name"):
        export_arch(macro, macro.parse(ARCH), tmp_path / "out", model_name=name)
    assert not (tmp_path / "out").exists()


def test_a_non_empty_out_is_refused_then_replaced_whole_with_force(macro, tmp_path):
    out = tmp_path / "out"
    export_arch(macro, macro.parse(ARCH), out)
    (out / "model.safetensors").write_bytes(b"stale")
    with pytest.raises(ExportError, match="is not empty; choose a new folder, or pass --force"):
        export_arch(macro, macro.parse(ARCH), out)
    assert (out / "model.safetensors").read_bytes() == b"stale"
    export_arch(macro, macro.parse(ARCH), out, force=True)
    assert not (out / "model.safetensors").exists()  # nothing stale survives
    assert sorted(p.name for p in out.iterdir()) == ["card.yaml", "latency.csv", "model.py"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging folder left behind


def test_force_refuses_a_folder_the_exporter_did_not_write(macro, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "model.py").write_text("# the user's own file\n")
    with pytest.raises(ExportError, match="holds no card.yaml"):
        export_arch(macro, macro.parse(ARCH), out, force=True)
    assert (out / "model.py").read_text() == "# the user's own file\n"
    export_arch(macro, macro.parse(ARCH), tmp_path / "mine")
    (tmp_path / "mine" / "notes.txt").write_text("mine")
    with pytest.raises(ExportError, match=r"holds files hybridnas did not write \(notes.txt\)"):
        export_arch(macro, macro.parse(ARCH), tmp_path / "mine", force=True)
    assert (tmp_path / "mine" / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize("where", [".", "..", "~", "/"])
def test_force_never_renames_the_working_folder_its_parents_home_or_root(macro, tmp_path, monkeypatch, where):
    work = tmp_path / "home" / "work"
    work.mkdir(parents=True)
    (work / "card.yaml").write_text("name: looks like an export\n")
    (work.parent / "card.yaml").write_text("name: looks like an export\n")
    monkeypatch.chdir(work)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(ExportError, match="hybridnas never replaces it|folder of its own"):
        export_arch(macro, macro.parse(ARCH), where, force=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert sorted(p.name for p in work.iterdir()) == ["card.yaml"] and work.is_dir()


def test_cli_export_force_on_dot_is_a_one_line_error(tmp_path, monkeypatch):
    (tmp_path / "x").write_text("x")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["export", "nasbench_macro", "--arch", ARCH, "--out", ".", "--force"])
    assert result.exit_code == 2 and "working folder" in result.output and "Traceback" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x"]


def test_a_failed_export_leaves_the_old_folder_untouched(macro, tmp_path, monkeypatch):
    out = tmp_path / "out"
    export_arch(macro, macro.parse(ARCH), out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    monkeypatch.setattr("hybridnas.export.exporter.latency_breakdown",
                        lambda *a: (_ for _ in ()).throw(OSError(28, "No space left on device")))
    with pytest.raises(OSError):
        export_arch(macro, macro.parse(ARCH), out, force=True)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_cli_export_refuses_a_file_as_out_and_a_non_empty_folder(tmp_path):
    (tmp_path / "file").write_text("x")
    runner = CliRunner()
    result = runner.invoke(main, ["export", "nasbench_macro", "--arch", ARCH, "--out", str(tmp_path / "file")])
    assert result.exit_code == 2 and "is a file" in result.output
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    result = runner.invoke(main, ["export", "nasbench_macro", "--arch", ARCH, "--out", str(tmp_path / "full")])
    assert result.exit_code == 2 and "--force" in result.output
    result = runner.invoke(main, ["export", "nasbench_macro", "--arch", ARCH, "--out", str(tmp_path / "full"), "--force"])
    assert result.exit_code == 2 and "holds no card.yaml" in result.output  # not a folder hybridnas wrote
    assert (tmp_path / "full" / "x").read_text() == "x"
    assert runner.invoke(main, ["export", "nasbench_macro", "--arch", ARCH, "--out", str(tmp_path / "ex")]).exit_code == 0
    result = runner.invoke(main, ["export", "nasbench_macro", "--arch", ARCH, "--out", str(tmp_path / "ex"), "--force"])
    assert result.exit_code == 0 and (tmp_path / "ex" / "model.py").is_file()
