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
    out.mkdir()
    (out / "model.py").write_text("# the user's own file\n")
    (out / "model.safetensors").write_bytes(b"stale")
    with pytest.raises(ExportError, match="is not empty; choose a new folder, or pass --force"):
        export_arch(macro, macro.parse(ARCH), out)
    assert (out / "model.py").read_text() == "# the user's own file\n"
    export_arch(macro, macro.parse(ARCH), out, force=True)
    assert not (out / "model.safetensors").exists()  # nothing stale survives
    assert sorted(p.name for p in out.iterdir()) == ["card.yaml", "latency.csv", "model.py"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging folder left behind


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
    assert result.exit_code == 0 and (tmp_path / "full" / "model.py").is_file()
